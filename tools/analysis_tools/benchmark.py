"""Inference and training throughput of backbones, classifiers and configs.

Inference: every model given runs in the same process, interleaved round by
round (model A, model B, ..., then A again), so the ratios between them
hold on a busy machine. Each round times ``--iters`` forward passes after
``--warmup`` untimed ones; the median round is reported as images/s.

Training (``--train``): one full training step of a config (data
preprocessor, forward, loss, backward, optimizer step) on a synthetic batch,
timed over rounds like inference, with the peak memory of the step (CUDA
allocator, or the process's peak resident memory growth on the CPU).

Models are given as
- a preset: ``lemevit-t``/``lemevit-s``/``lemevit-b`` (the classifiers),
  ``lemevit-t-backbone`` (the four dense maps), ``swin-t``, ``pvtv2-b1``
  (see ``PRESETS``);
- a registered type with keyword arguments, e.g.
  ``"mmpretrain.SwinTransformer(arch='tiny')"`` or
  ``"LeMeViT(arch='small', out_indices=(4,))"``;
- a config file (its ``model``; inference runs its ``predict`` path).

The table (markdown) is printed and written to ``WORK_DIR/benchmark.md``.

Example::

    python tools/analysis_tools/benchmark.py lemevit-t swin-t pvtv2-b1 \\
        --batch-size 32 --input-size 224 --threads 2 --compile
    python tools/analysis_tools/benchmark.py swin-t lemevit-t@amp
    python tools/analysis_tools/benchmark.py \\
        configs/seg/lemevit_t_upernet_potsdam.py --train --batch-size 2 \\
        --input-size 512
"""
import argparse
import contextlib
import copy
import datetime
import os
import os.path as osp
import platform
import statistics
import sys
import threading
import time
from typing import Callable, List, Optional, Sequence, Tuple

import torch

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
from model_specs import (PRESETS, build_model_cfg,  # noqa: E402
                         build_model_spec, input_channels, input_size_pair,
                         make_batch, spec_is_config)

MODES = ('eager', 'compile')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Throughput (and training memory) of models.')
    parser.add_argument(
        'models', nargs='+',
        help=f'presets ({", ".join(PRESETS)}), registered types with '
        "arguments like \"mmpretrain.SwinTransformer(arch='tiny')\", or "
        'config files; a suffix @amp runs that model alone under '
        'autocast')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--input-size', type=int, nargs='+', default=[224],
                        help='H [W] of the input. Defaults to 224.')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed iterations before each round')
    parser.add_argument('--iters', type=int, default=3,
                        help='timed iterations per round')
    parser.add_argument('--rounds', type=int, default=5,
                        help='timed rounds (the median is reported)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (default: unchanged)')
    parser.add_argument('--channels-last', action='store_true',
                        help='channels-last model and input')
    parser.add_argument('--amp', action='store_true',
                        help='autocast: bf16 on CPU, fp16 on CUDA')
    parser.add_argument('--compile', action='store_true',
                        help='also time torch.compile of every model')
    parser.add_argument('--no-eager', action='store_true',
                        help='time only the compiled models')
    parser.add_argument(
        '--attn-backend', default=None,
        help='attention backend of LeMeViT models (auto, sdpa, math, '
        'flash, xformers)')
    parser.add_argument('--train', action='store_true',
                        help='time one training step of each config')
    parser.add_argument('--device', default=None,
                        help='cpu or cuda (default: cuda if available)')
    parser.add_argument('--work-dir', default=None,
                        help='where benchmark.md goes (default: '
                        'work_dirs/benchmark)')
    args = parser.parse_args(argv)
    if args.no_eager and not args.compile:
        parser.error('--no-eager needs --compile')
    if args.train:
        bad = [m for m in args.models if not spec_is_config(m)]
        if bad:
            parser.error(f'--train needs config files, got {bad}')
        if args.batch_size < 2:
            parser.error('--train needs --batch-size >= 2: batch norm '
                         'layers cannot train on a single sample')
    for name in ('batch_size', 'iters', 'rounds'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    return args


def split_amp_suffix(entry: str) -> Tuple[str, bool]:
    """``'lemevit-t@amp'`` -> ``('lemevit-t', True)``: mixed precision for
    that model only (the others stay in float32)."""
    if entry.endswith('@amp'):
        return entry[:-len('@amp')], True
    return entry, False


def precision_name(device: str, amp: bool) -> str:
    if not amp:
        return 'fp32'
    return 'bf16 autocast' if device == 'cpu' else 'fp16 autocast'


def autocast_context(device: str, enabled: bool):
    """bf16 autocast on the CPU, fp16 on CUDA, or nothing."""
    if not enabled:
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if device == 'cpu' else torch.float16
    return torch.autocast(device_type=device, dtype=dtype)


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
                with torch.no_grad(), autocast_context(device, amp):
                    fn(inputs)

            label = spec if mode == 'eager' else f'{spec} (compile)'
            candidates.append(Candidate(label, step, args.batch_size,
                                        precision_name(device, amp)))
    return candidates


def train_candidates(args, device: str) -> List[Candidate]:
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS

    from lemevit_mm.apis import drop_amp
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
            with autocast_context(device, cpu_amp):
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


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.amp and device == 'cpu' and \
            not torch.backends.mkldnn.is_available():
        print('warning: bf16 on this CPU may be slow (no oneDNN).')
    candidates = train_candidates(args, device) if args.train else \
        inference_candidates(args, device)
    run_rounds(candidates, args, device)
    table = format_table(candidates, args, device)
    work_dir = args.work_dir or osp.join('work_dirs', 'benchmark')
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'benchmark.md'), 'w') as f:
        f.write(table)
    print(table)
    return table


if __name__ == '__main__':
    main()
