"""Throughput (and training memory) of models, timed side by side.

Inference: every model given runs in the same process, interleaved round by
round (model A, model B, ..., then A again), so the ratios between them
hold on a busy machine. Each round times ``iters`` forward passes after
``warmup`` untimed ones; the median round is reported as images/s.

Training: one full training step of a config (data preprocessor, forward,
loss, backward, optimizer step) on a synthetic batch, timed over rounds
like inference, with the peak memory of the step (CUDA allocator, or the
process's peak resident memory growth on the CPU).

Mixed precision follows the project's autocast policy
(:mod:`lemevit_mm.utils.autocast`): bf16 on the CPU, fp16 on CUDA.
``tools/analysis_tools/benchmark.py`` is the command line.
"""
import copy
import datetime
import os
import os.path as osp
import platform
import statistics
import threading
import time
from typing import Callable, List, Optional, Tuple

import torch

from ..io.atomic import write_text
from ..utils.autocast import native_bf16, null_or_autocast, precision_name
from .model_specs import (build_model_cfg, build_model_spec, input_channels,
                          input_size_pair, make_batch)

__all__ = [
    'MODES', 'Candidate', 'PeakMemory', 'split_amp_suffix',
    'inference_candidates', 'train_candidates', 'run_rounds',
    'environment_line', 'format_table', 'run_benchmark'
]

MODES = ('eager', 'compile')


def split_amp_suffix(entry: str) -> Tuple[str, bool]:
    """``'lemevit-t@amp'`` -> ``('lemevit-t', True)``: mixed precision for
    that model only (the others stay in float32)."""
    if entry.endswith('@amp'):
        return entry[:-len('@amp')], True
    return entry, False


def synchronize(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def resident_mb() -> float:
    """Current resident memory of this process (Linux), in MB."""
    with open('/proc/self/statm') as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE') / 2**20


class PeakMemory:
    """Peak memory of a block of code above its start, in MB.

    CUDA: the allocator's peak. CPU: resident memory sampled every
    millisecond by a thread (it includes allocator caches, so it is an
    upper bound of what tensors need).
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.peak_mb = 0.0

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._max = max(self._max, resident_mb())
            time.sleep(0.001)

    def __enter__(self) -> 'PeakMemory':
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated() / 2**20
            return self
        self._base = self._max = resident_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated() / 2**20
        else:
            self._stop.set()
            self._thread.join()
            peak = max(self._max, resident_mb())
        self.peak_mb = max(peak - self._base, 0.0)


class Candidate:
    """One timed entry: a name and a zero-argument step function."""

    def __init__(self, name: str, step: Callable[[], None],
                 images_per_step: int, precision: str = 'fp32') -> None:
        self.name = name
        self.precision = precision
        self.step = step
        self.images_per_step = images_per_step
        self.rates: List[float] = []
        self.peak_mb: Optional[float] = None

    @property
    def median(self) -> float:
        return statistics.median(self.rates) if self.rates else float('nan')


def inference_candidates(args, device: str) -> List[Candidate]:
    height, width = input_size_pair(args.input_size)
    candidates = []
    for entry in args.models:
        spec, amp = split_amp_suffix(entry)
        amp = amp or args.amp
        model, forward = build_model_spec(
            spec, attn_backend=args.attn_backend, device=device,
            input_size=(height, width), batch_size=args.batch_size)
        memory_format = torch.channels_last if args.channels_last \
            else torch.contiguous_format
        if args.channels_last:
            model.to(memory_format=memory_format)
        inputs = torch.randn(args.batch_size, input_channels(model), height,
                             width,
                             device=device).contiguous(
                                 memory_format=memory_format)
        modes = [] if args.no_eager else ['eager']
        if args.compile:
            modes.append('compile')
        for mode in modes:
            fn = forward
            if mode == 'compile':
                # Inference graphs: weights are constants, so Inductor
                # pre-packs them for oneDNN and folds what it can.
                import torch._inductor.config as inductor_config
                inductor_config.freezing = True
                fn = torch.compile(forward)

            def step(fn=fn, inputs=inputs, amp=amp):
                with torch.no_grad(), null_or_autocast(device, amp):
                    fn(inputs)

            label = spec if mode == 'eager' else f'{spec} (compile)'
            candidates.append(Candidate(label, step, args.batch_size,
                                        precision_name(device, amp)))
    return candidates


def train_candidates(args, device: str) -> List[Candidate]:
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS

    from ..apis import drop_amp
    height, width = input_size_pair(args.input_size)
    candidates = []
    for path in args.models:
        model_cfg, cfg = build_model_cfg(path, args.attn_backend)
        model = MODELS.build(model_cfg).to(device)
        if args.channels_last:
            model.to(memory_format=torch.channels_last)
        model.train()
        wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
        if device == 'cpu':
            # MMEngine's AmpOptimWrapper needs an accelerator: on the CPU
            # the step runs under bf16 autocast instead (with --amp).
            drop_amp(wrapper_cfg)
        elif args.amp:
            wrapper_cfg.type = 'AmpOptimWrapper'
        optim_wrapper = build_optim_wrapper(model, wrapper_cfg)
        batch = make_batch(cfg, model, args.batch_size, (height, width),
                           device)
        cpu_amp = args.amp and device == 'cpu'

        def step(model=model, optim_wrapper=optim_wrapper, batch=batch,
                 cpu_amp=cpu_amp):
            with null_or_autocast(device, cpu_amp):
                model.train_step(copy.copy(batch), optim_wrapper)

        candidates.append(Candidate(f'{path} (train)', step,
                                    args.batch_size,
                                    precision_name(device, args.amp)))
    return candidates


def run_rounds(candidates: List[Candidate], args, device: str) -> None:
    """Warm up each candidate, then time them interleaved."""
    for cand in candidates:
        cand.step()  # first call: compilation, lazy allocations
        with PeakMemory(device) as memory:
            cand.step()
        cand.peak_mb = memory.peak_mb
        for _ in range(args.warmup - 1):
            cand.step()
        synchronize(device)
    for _ in range(args.rounds):
        for cand in candidates:
            synchronize(device)
            start = time.perf_counter()
            for _ in range(args.iters):
                cand.step()
            synchronize(device)
            elapsed = time.perf_counter() - start
            cand.rates.append(cand.images_per_step * args.iters / elapsed)


def environment_line(args, device: str) -> str:
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    cpu = platform.processor() or platform.machine()
    flags: List[str] = []
    try:
        with open('/proc/cpuinfo') as f:
            info = f.read().splitlines()
        cpu = next((line.split(':', 1)[1].strip() for line in info
                    if line.startswith('model name')), cpu)
        flags = next((line.split(':', 1)[1].split() for line in info
                      if line.startswith('flags')), [])
    except OSError:
        pass
    bf16 = [f for f in ('avx512_bf16', 'amx_bf16') if f in flags]
    if device == 'cpu':
        cpu += f'; bf16: {"/".join(bf16) or "no native support"}'
    height, width = input_size_pair(args.input_size)
    return (f'{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {device} '
            f'({cpu}), {torch.get_num_threads()} threads, load '
            f'{load:.2f}, torch {torch.__version__}, batch '
            f'{args.batch_size}, {height}x{width}'
            f'{", channels-last" if args.channels_last else ""}, '
            f'median of {args.rounds} rounds x {args.iters} iters')


def format_rate(rate: float) -> str:
    """Images/s with at least three significant digits for slow steps."""
    return f'{rate:.1f}' if rate >= 10 else f'{rate:.3f}'


def format_table(candidates: List[Candidate], args, device: str) -> str:
    """The markdown table: img/s and the ratio to the first entry."""
    reference = candidates[0].median
    lines = [f'<!-- {environment_line(args, device)} -->', '',
             '| model | precision | img/s | ratio | peak memory (MB) |',
             '|---|---|---:|---:|---:|']
    for cand in candidates:
        memory = '-' if cand.peak_mb is None else f'{cand.peak_mb:.0f}'
        lines.append(f'| {cand.name} | {cand.precision} | '
                     f'{format_rate(cand.median)} | '
                     f'{cand.median / reference:.2f} | {memory} |')
    return '\n'.join(lines) + '\n'


def run_benchmark(args, device: str) -> str:
    """Time the models of ``args`` (the options of
    ``tools/analysis_tools/benchmark.py``) on ``device`` and write the
    table to ``args.work_dir/benchmark.md`` (default
    ``work_dirs/benchmark``).

    Returns:
        str: The markdown table.
    """
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.amp and device == 'cpu' and not native_bf16():
        print('warning: this CPU has no native bf16: bf16 autocast is '
              'emulated and slow here.')
    candidates = train_candidates(args, device) if args.train else \
        inference_candidates(args, device)
    run_rounds(candidates, args, device)
    table = format_table(candidates, args, device)
    work_dir = args.work_dir or osp.join('work_dirs', 'benchmark')
    write_text(osp.join(work_dir, 'benchmark.md'), table, make_folder=True)
    return table
