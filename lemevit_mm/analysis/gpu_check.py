"""The one-shot GPU check of LeMeViT: parity with the authors, attention
backends, the CPU inference rewrites on this device, training steps and
throughput beside the paper, in one markdown report.

The library of ``tools/gpu_check.py`` (its docstring describes the
sections). It needs only torch, mmengine and mmcv: the segmentation head
of the training section is rebuilt from mmcv's ``ConvModule``
(:class:`UperNet`), the classifier is the plain reference one
(:class:`~lemevit_mm.testing.reference_models.PlainClassifier`), and
the peers come from timm when it is installed.
"""
import contextlib
import datetime
import logging
import math
import platform
import sys
import time
import traceback
import warnings
from types import SimpleNamespace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..io.atomic import write_text
from ..utils.autocast import device_type, null_or_autocast, precision_name
from .benchmark import Candidate, run_rounds

__all__ = ['settings', 'Report', 'run_section', 'inference_rewrites',
           'UperNetHead', 'UperNet', 'run_gpu_check']

# The paper's GPU throughput (img/s, 224x224; tasks-and-targets.md).
PAPER_IMG_S = dict(tiny=5316.58, small=3608.12, base=1482.70)
PAPER_SPEEDUP = 1.7  # LeMeViT-tiny over its baselines, as the paper says
PEERS = ('swin_tiny_patch4_window7_224', 'pvt_v2_b1')
# Unit roundoff of each precision (its float32 error scales with it).
UNIT_ROUNDOFF = dict(fp32=2.0**-24, fp16=2.0**-11, bf16=2.0**-8)
ERROR_FACTOR = 5
ATTN_BACKENDS = ('sdpa', 'math', 'flash', 'xformers')
ARCHS = ('tiny', 'small', 'base')


def settings(args) -> SimpleNamespace:
    """Sizes of every section for this run."""
    # fp16 autocast on CUDA; float32 on the CPU, where bf16 is emulated
    # on many machines (the parity section checks bf16 there)
    amp = device_type(args.device) == 'cuda'
    if args.quick:
        once = dict(warmup=1, iters=1, rounds=1)
        return SimpleNamespace(
            parity_archs=('tiny', ), archs=('tiny', ), batch=2, size=64,
            timing=once, cls_train=(2, 64), seg_train=(2, 64),
            seg_channels=(64, 32), train_timing=once, compile=False,
            amp=amp)
    return SimpleNamespace(
        parity_archs=('tiny', 'small'), archs=ARCHS, batch=256, size=224,
        timing=dict(warmup=3, iters=5, rounds=5), cls_train=(128, 224),
        seg_train=(16, 512), seg_channels=(512, 256),
        train_timing=dict(warmup=2, iters=3, rounds=3),
        compile=not args.no_compile, amp=amp)


# ------------------------------------------------------------------ report
class Report:
    """The markdown report, rewritten (atomically) after every section."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sections: List[Tuple[str, List[str]]] = []
        self.failures: List[str] = []
        self.started = time.perf_counter()

    def section(self, title: str) -> List[str]:
        lines: List[str] = []
        self.sections.append((title, lines))
        return lines

    def fail(self, what: str) -> None:
        self.failures.append(what)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def write(self) -> None:
        verdict = 'PASS' if not self.failures else \
            f'FAIL ({len(self.failures)})'
        lines = ['# LeMeViT GPU check', '',
                 f'Verdict: **{verdict}** (after {self.elapsed():.0f} s)',
                 '']
        lines += [f'- failure: {f}' for f in self.failures]
        for title, body in self.sections:
            lines += ['', f'## {title}', '', *body]
        write_text(self.path, '\n'.join(lines) + '\n', make_folder=True)


def run_section(report: Report, title: str, body: Callable[[List[str]],
                                                           None]) -> None:
    """Run one section; an exception becomes a failure with its traceback
    in the report, and the next section still runs."""
    lines = report.section(title)
    start = time.perf_counter()
    try:
        body(lines)
    except Exception as err:  # noqa: BLE001 -- reported, not swallowed
        report.fail(f'{title}: {type(err).__name__}: {err}')
        lines += ['', '```', traceback.format_exc()[-3000:], '```']
    lines += ['', f'({time.perf_counter() - start:.1f} s)']
    report.write()


def table(header: Sequence[str], rows: Sequence[Sequence[object]],
          right_from: int = 1) -> List[str]:
    align = ['---' if i < right_from else '---:' for i in range(len(header))]
    return [f'| {" | ".join(header)} |', f'|{"|".join(align)}|',
            *(f'| {" | ".join(str(c) for c in row)} |' for row in rows)]


def sci(value: float) -> str:
    return f'{value:.2e}'


# ------------------------------------------------------------- environment
def package_version(name: str) -> str:
    try:
        module = __import__(name)
    except Exception as err:  # noqa: BLE001
        return f'missing ({type(err).__name__})'
    return getattr(module, '__version__', '?')


def environment(args, lines: List[str]) -> None:
    device = args.device
    if device.startswith('cuda'):
        props = torch.cuda.get_device_properties(device)
        name = (f'{props.name}, {props.total_memory / 2**30:.0f} GiB, '
                f'{props.multi_processor_count} SMs, capability '
                f'{props.major}.{props.minor}')
        extra = (f'CUDA {torch.version.cuda}, cuDNN '
                 f'{torch.backends.cudnn.version()}')
    else:
        name = platform.processor() or platform.machine()
        extra = f'{torch.get_num_threads()} threads'
    now = datetime.datetime.now(datetime.timezone.utc)
    rows = [('date', f'{now:%Y-%m-%d %H:%M} UTC'),
            ('device', f'{device}: {name}'),
            ('torch', f'{torch.__version__} ({extra})'),
            ('python', platform.python_version())]
    for package in ('mmengine', 'mmcv', 'timm', 'flash_attn', 'xformers'):
        rows.append((package, package_version(package)))
    rows.append(('mode', 'quick' if args.quick else 'full'))
    lines += table(('item', 'value'), rows, right_from=2)


# ------------------------------------------------------------------ parity
@contextlib.contextmanager
def precision(device: str, name: str):
    """fp32 with TF32 off, or fp16/bf16 autocast."""
    if name == 'fp32':
        matmul = torch.backends.cuda.matmul.allow_tf32
        cudnn = torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32 = matmul
            torch.backends.cudnn.allow_tf32 = cudnn
        return
    dtype = dict(fp16=torch.float16, bf16=torch.bfloat16)[name]
    with torch.autocast(device_type=device.split(':')[0], dtype=dtype):
        yield


def parity_rows(model: nn.Module, inputs, references: Sequence[torch.Tensor],
                authors: Sequence[float], device: str, labels: Sequence[str],
                paths: Dict[str, Sequence[str]]) -> List[list]:
    """Rows ``[label, precision, path, error, authors', bound, verdict]``
    of ``model`` against the float64 references, for each precision and
    its paths (``'plain'``, ``'fused'``) in ``paths``."""
    from ..testing.seeded_reference import max_abs_error
    rows = []
    model = model.to(device)
    inputs = inputs.to(device)
    for name, name_paths in paths.items():
        for path in name_paths:
            grad = torch.enable_grad() if path == 'plain' else \
                torch.no_grad()
            with grad, precision(device, name):
                outputs = model(inputs)
            if torch.is_tensor(outputs):
                outputs = [outputs]
            scale = UNIT_ROUNDOFF[name] / UNIT_ROUNDOFF['fp32']
            for label, out, ref, err in zip(labels, outputs, references,
                                            authors):
                error = max_abs_error(out.float(), ref)
                bound = ERROR_FACTOR * err * scale
                verdict = 'ok' if error <= bound else 'FAIL'
                rows.append([label, name, path, sci(error), sci(err),
                             sci(bound), verdict])
    return rows


def parity(args, cfg, report: Report, lines: List[str]) -> None:
    from ..testing.seeded_reference import (load_seeded_reference,
                                                     seeded_backbone,
                                                     seeded_classifier)
    both = ('plain', 'fused')
    paths = dict(fp32=both, fp16=both, bf16=both)
    if not args.device.startswith('cuda'):
        # CPU autocast is bf16; its plain (autograd) path is slow there
        paths = dict(fp32=both, bf16=both if not args.quick else ('fused', ))
    lines += [
        'Max abs error against the authors\' float64 outputs (CPU) on the '
        'seeded weights of `tests/data/seeded`; "authors\'" is their own '
        'float32 error, the bound 5x that, scaled by the unit roundoff of '
        'the precision (fp16 x2^13, bf16 x2^16). plain: autograd on; '
        'fused: no grad (the inference rewrites).', '']
    rows = []
    for arch in cfg.parity_archs:
        ref = load_seeded_reference(args.seeded_data, arch)
        dense = [f'{arch} backbone map {i + 1}' for i in range(4)]
        rows += parity_rows(seeded_backbone(ref), ref.dense_input,
                            ref.dense_feats, ref.fp32_error['dense'],
                            args.device, dense, paths)
        rows += parity_rows(seeded_classifier(ref), ref.cls_input,
                            [ref.cls_logits], [ref.fp32_error['cls']],
                            args.device, [f'{arch} classifier logits'],
                            paths)
    for row in rows:
        if row[-1] != 'ok':
            report.fail(f'parity: {row[0]} {row[1]} {row[2]}: error '
                        f'{row[3]} > bound {row[5]}')
    lines += table(('output', 'precision', 'path', 'error', "authors' "
                    'fp32 error', 'bound', 'verdict'), rows, right_from=3)


# ---------------------------------------------------------------- backends
class Capture(logging.Handler):
    """Collects log records (the MMEngine logger's)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def captured_lines():
    """The MMEngine log lines and the warnings of a block."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    handler = Capture()
    logger.addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        lines: List[str] = []
        try:
            yield lines
        finally:
            logger.removeHandler(handler)
            lines += handler.messages
            lines += [f'warning: {w.message}' for w in caught]


def attention_backends(args, cfg, report: Report, lines: List[str]) -> None:
    from ..models.utils import attention
    from ..testing.seeded_reference import load_seeded_reference
    ref = load_seeded_reference(args.seeded_data, 'tiny')
    amp = 'fp16' if args.device.startswith('cuda') else 'bf16'
    scale = UNIT_ROUNDOFF[amp] / UNIT_ROUNDOFF['fp32']
    bound = ERROR_FACTOR * ref.fp32_error['dense'][-1] * scale
    lines += [f"'auto' resolves to `{attention.resolve_attn_backend('auto')}`"
              f" here. LeMeViT-tiny (seeded) stride-32 map, {amp} autocast, "
              f'no grad; bound {sci(bound)}.', '']
    rows, notes = [], []
    for backend in ATTN_BACKENDS:
        if not attention.backend_installed(backend):
            rows.append([backend, '-', '-', 'not importable'])
            continue
        with captured_lines() as messages:
            row = backend_row(backend, backend, ref, args.device, amp,
                              bound, lambda: contextlib.nullcontext())
        rows.append(row)
        notes += [f'- `{backend}`: {m}' for m in messages]
    # PyTorch's own kernels behind 'sdpa', each forced alone
    from torch.nn.attention import SDPBackend, sdpa_kernel
    for kernel in ('FLASH_ATTENTION', 'EFFICIENT_ATTENTION',
                   'CUDNN_ATTENTION', 'MATH'):
        if not hasattr(SDPBackend, kernel):
            continue
        with captured_lines() as messages:
            row = backend_row(
                f'sdpa: {kernel.lower()} only', 'sdpa', ref, args.device,
                amp, bound, lambda k=kernel: sdpa_kernel(
                    [getattr(SDPBackend, k)]), required=False)
        rows.append(row)
        notes += [f'- sdpa, {kernel.lower()} only: {m}' for m in messages
                  if 'kernel' in m.lower() or 'not used' in m]
    for row in rows:
        if row[3].startswith('FAIL'):
            report.fail(f'attention backend {row[0]}: {row[3]}')
    lines += table(('requested', 'resolved', 'error', 'verdict'), rows,
                   right_from=2)
    notes = [note[:240] for note in dict.fromkeys(notes)]  # once each
    lines += ['', 'Dispatch and fallback lines:', '',
              *(notes or ['- (none: every backend ran as requested)'])]


def backend_row(label: str, backend: str, ref, device: str, amp: str,
                bound: float, context: Callable, required: bool = True
                ) -> list:
    """``[label, resolved, error, verdict]`` of one backend: an exception
    fails a backend LeMeViT may pick (``required``); a forced PyTorch
    kernel that cannot take LeMeViT's shapes is reported as such."""
    from ..testing.seeded_reference import (max_abs_error,
                                                     seeded_backbone)
    try:
        model = seeded_backbone(ref, attn_backend=backend).to(device)
        with torch.no_grad(), precision(device, amp), context():
            feats = model(ref.dense_input.to(device))
    except Exception as err:  # noqa: BLE001 -- reported
        message = str(err).strip().splitlines()[0][:160] if str(err) \
            else ''
        verdict = 'FAIL' if required else 'does not run'
        return [label, backend, '-',
                f'{verdict}: {type(err).__name__}: {message}']
    error = max_abs_error(feats[-1].float(), ref.dense_feats[-1])
    if not math.isfinite(error) or error > bound:
        return [label, model.attn_backend, sci(error), 'FAIL']
    return [label, model.attn_backend, sci(error), 'ok']


# ------------------------------------------------------ inference rewrites
@contextlib.contextmanager
def inference_rewrites(enabled: bool):
    """Turn LeMeViT's inference rewrites off (or leave them on) for a
    block, by wrapping the switch every layer asks
    (``inference_rewrites_allowed``) wherever a LeMeViT module holds it."""
    if enabled:
        yield
        return
    holders = _switch_holders()
    for module, _ in holders:
        module.inference_rewrites_allowed = _never
    try:
        yield
    finally:
        for module, original in holders:
            module.inference_rewrites_allowed = original


def _never(x, layer) -> bool:
    return False


_SWITCH_HOLDERS: list = []


def _switch_holders() -> list:
    """``(module, switch)`` of every loaded lemevit_mm module that holds
    ``inference_rewrites_allowed`` (found once)."""
    if not _SWITCH_HOLDERS:
        for name, module in list(sys.modules.items()):
            switch = getattr(module, 'inference_rewrites_allowed', None)
            if name.startswith('lemevit_mm') and callable(switch):
                _SWITCH_HOLDERS.append((module, switch))
    if not _SWITCH_HOLDERS:
        raise RuntimeError('no inference_rewrites_allowed switch found in '
                           'lemevit_mm: update lemevit_mm/analysis/'
                           'gpu_check.py')
    return _SWITCH_HOLDERS


# -------------------------------------------------------------- throughput
def lemevit_classifier(arch: str) -> nn.Module:
    from ..testing.reference_models import PlainClassifier
    return PlainClassifier(arch)


def timm_model(name: str, notes: List[str]) -> Optional[nn.Module]:
    """timm's ``name`` (random weights), or None with a note why not."""
    try:
        import timm
        return timm.create_model(name, pretrained=False)
    except Exception as err:  # noqa: BLE001 -- a peer is optional
        reason = 'timm not installed' if isinstance(err, ImportError) \
            else f'{type(err).__name__}: {err}'
        notes.append(f'{name}: not timed ({reason})')
        return None


def inference_candidate(name: str, model: nn.Module, args, cfg,
                        compiled: bool = False,
                        rewrites: bool = True) -> Candidate:
    device = args.device
    model = model.to(device).eval().to(memory_format=torch.channels_last)
    images = torch.randn(cfg.batch, 3, cfg.size, cfg.size, device=device)
    images = images.contiguous(memory_format=torch.channels_last)
    forward = model
    if compiled:
        forward = torch.compile(model)

    def step():
        with torch.no_grad(), null_or_autocast(device, cfg.amp), \
                inference_rewrites(rewrites):
            forward(images)

    return Candidate(name, step, cfg.batch, precision_name(device, cfg.amp))


def timing_args(timing: dict) -> SimpleNamespace:
    return SimpleNamespace(**timing)


def throughput(args, cfg, report: Report, lines: List[str],
               results: Dict[str, float]) -> None:
    """Eager timings of all models, interleaved; then each model compiled
    and timed alone while the budget lasts. The section is rewritten
    after every step, so a run stopped early keeps what it measured."""
    intro = [f'Batch {cfg.batch}, {cfg.size}x{cfg.size}, '
             f'{precision_name(args.device, cfg.amp)}, channels last, no '
             'grad; median of rounds; the eager models timed interleaved. '
             "Paper: the LeMeViT paper's GPU figures. tiny / this: "
             "LeMeViT-tiny's img/s over the model's (the paper: tiny about "
             f'{PAPER_SPEEDUP}x faster than its baselines).', '']
    models: List[Tuple[str, Optional[nn.Module]]] = [
        (f'LeMeViT-{arch}', lemevit_classifier(arch)) for arch in cfg.archs]
    notes: List[str] = []
    models += [(peer, timm_model(peer, notes)) for peer in PEERS]
    present = [(name, model) for name, model in models if model is not None]
    eager: Dict[str, float] = {}
    compiled: Dict[str, float] = {}

    def render() -> None:
        rows = []
        for name, _ in present:
            arch = name.split('-')[1] if name.startswith('LeMeViT') else ''
            paper = PAPER_IMG_S.get(arch)
            cells = [name]
            for rates in (eager, compiled):
                rate = rates.get(name)
                cells.append('-' if rate is None else f'{rate:.1f}')
            cells.append('-' if paper is None else f'{paper:.0f}')
            for rates in (eager, compiled):
                rate = rates.get(name)
                cells.append('-' if paper is None or rate is None
                             else f'{rate / paper:.2f}')
            for rates in (eager, compiled):
                tiny, rate = rates.get('LeMeViT-tiny'), rates.get(name)
                cells.append('-' if arch or tiny is None or rate is None
                             else f'{tiny / rate:.2f}')
            rows.append(cells)
        lines[:] = intro + table(
            ('model', 'eager img/s', 'compiled img/s', 'paper img/s',
             'eager / paper', 'compiled / paper', 'tiny / this, eager',
             'tiny / this, compiled'), rows) + [''] + \
            [f'- {note}' for note in notes]
        report.write()

    candidates = [inference_candidate(name, model, args, cfg)
                  for name, model in present]
    run_rounds(candidates, timing_args(cfg.timing), args.device)
    for cand in candidates:
        eager[cand.name] = results[cand.name] = cand.median
    if not cfg.compile:
        notes.append('torch.compile: not run (--quick or --no-compile)')
    render()
    if not cfg.compile:
        return
    by_name = dict(present)
    last_cost = 60.0
    for name in ['LeMeViT-tiny', *PEERS, 'LeMeViT-small', 'LeMeViT-base']:
        if name not in by_name:
            continue
        left = args.budget - report.elapsed()
        if left < 1.5 * last_cost:
            notes.append(f'{name} compiled: skipped, {left:.0f} s left of '
                         'the budget')
            continue
        start = time.perf_counter()
        try:
            cand = inference_candidate(f'{name} (compile)', by_name[name],
                                       args, cfg, compiled=True)
            run_rounds([cand], timing_args(cfg.timing), args.device)
        except Exception as err:  # noqa: BLE001 -- reported
            notes.append(f'{name} compiled: failed, {type(err).__name__}: '
                         f'{str(err)[:200]}')
            if name.startswith('LeMeViT'):
                report.fail(f'torch.compile of {name}: {err!r:.200}')
            continue
        finally:
            last_cost = time.perf_counter() - start
        compiled[name] = results[cand.name] = cand.median
        notes.append(f'{name} compiled: compile and timing took '
                     f'{last_cost:.0f} s')
        render()
    render()


def rewrites_on_off(args, cfg, report: Report, lines: List[str]) -> None:
    lines += ['The inference rewrites (folded C/D attention projections and '
              'batch norms, one-convolution position encoding; the oneDNN '
              'kernels and cache-sized MLP passes are CPU-only) on and off, '
              f'eager, batch {cfg.batch}, '
              f'{precision_name(args.device, cfg.amp)}, '
              'channels last, timed interleaved.', '']
    candidates = []
    for arch in cfg.archs:
        model = lemevit_classifier(arch)
        for enabled in (True, False):
            candidates.append(inference_candidate(
                f'LeMeViT-{arch} rewrites {"on" if enabled else "off"}',
                model, args, cfg, rewrites=enabled))
    run_rounds(candidates, timing_args(cfg.timing), args.device)
    rows = []
    for on, off in zip(candidates[::2], candidates[1::2]):
        gain = on.median / off.median
        verdict = 'helps' if gain > 1.03 else \
            'no gain' if gain > 0.97 else 'slower: turn off here'
        rows.append([on.name.replace(' rewrites on', ''), f'{on.median:.1f}',
                     f'{off.median:.1f}', f'{gain:.2f}', verdict])
    lines += table(('model', 'on img/s', 'off img/s', 'on / off',
                    'verdict'), rows)


# ---------------------------------------------------------------- training
class UperNetHead(nn.Module):
    """mmseg's UPerHead (pool scales 1, 2, 3, 6; 512 channels; dropout
    0.1) with its FCN auxiliary head (256 channels, one conv) on the
    stride-16 map, rebuilt from mmcv's ConvModule, for machines without
    mmseg. ``tests/test_gpu_check.py`` checks that its parameter count
    equals the head of ``configs/seg/lemevit_t_upernet_potsdam.py``."""

    def __init__(self, in_channels: Sequence[int], num_classes: int,
                 channels: int = 512, aux_channels: int = 256,
                 pool_scales: Sequence[int] = (1, 2, 3, 6)) -> None:
        super().__init__()
        from mmcv.cnn import ConvModule
        norm = dict(type='BN', requires_grad=True)

        def conv(cin, cout, kernel):
            return ConvModule(cin, cout, kernel, padding=kernel // 2,
                              norm_cfg=norm, act_cfg=dict(type='ReLU'))

        self.ppm = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(scale),
                          conv(in_channels[-1], channels, 1))
            for scale in pool_scales)
        self.bottleneck = conv(
            in_channels[-1] + len(pool_scales) * channels, channels, 3)
        self.lateral_convs = nn.ModuleList(
            conv(c, channels, 1) for c in in_channels[:-1])
        self.fpn_convs = nn.ModuleList(
            conv(channels, channels, 3) for _ in in_channels[:-1])
        self.fpn_bottleneck = conv(len(in_channels) * channels, channels, 3)
        self.dropout = nn.Dropout2d(0.1)
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)
        self.aux_conv = conv(in_channels[2], aux_channels, 3)
        self.aux_seg = nn.Conv2d(aux_channels, num_classes, 1)

    @staticmethod
    def _resize(x, size):
        return F.interpolate(x, size=size, mode='bilinear',
                             align_corners=False)

    def forward(self, feats):
        top = feats[-1]
        pooled = [self._resize(ppm(top), top.shape[2:]) for ppm in self.ppm]
        laterals = [conv(f) for conv, f in zip(self.lateral_convs, feats)]
        laterals.append(self.bottleneck(torch.cat([top, *pooled], 1)))
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + self._resize(
                laterals[i], laterals[i - 1].shape[2:])
        outs = [conv(x) for conv, x in zip(self.fpn_convs, laterals)]
        outs.append(laterals[-1])
        size = outs[0].shape[2:]
        fused = self.fpn_bottleneck(torch.cat(
            [outs[0], *(self._resize(x, size) for x in outs[1:])], 1))
        logits = self.conv_seg(self.dropout(fused))
        aux = self.aux_seg(self.dropout(self.aux_conv(feats[2])))
        return logits, aux


class UperNet(nn.Module):
    """LeMeViT + :class:`UperNetHead`; the loss is mmseg's: cross-entropy
    of the upsampled logits, plus 0.4 times that of the auxiliary head."""

    def __init__(self, arch: str = 'tiny', num_classes: int = 5,
                 channels: int = 512, aux_channels: int = 256) -> None:
        super().__init__()
        from ..models import LeMeViT
        self.backbone = LeMeViT(arch)
        self.head = UperNetHead(self.backbone.embed_dims[1:], num_classes,
                                channels, aux_channels)

    def loss(self, images, labels):
        logits, aux = self.head(self.backbone(images))
        size = labels.shape[-2:]
        loss = F.cross_entropy(self._up(logits, size), labels,
                               ignore_index=255)
        return loss + 0.4 * F.cross_entropy(self._up(aux, size), labels,
                                            ignore_index=255)

    @staticmethod
    def _up(x, size):
        return F.interpolate(x, size=size, mode='bilinear',
                             align_corners=False)


def train_candidate(name: str, model: nn.Module, loss_fn, batch: int,
                    size: int, num_classes: int, dense: bool,
                    args) -> Candidate:
    device = args.device
    cuda = device.startswith('cuda')
    model = model.to(device).train().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4,
                                  weight_decay=0.05)
    scaler = torch.amp.GradScaler(device_type(device), enabled=cuda)
    images = torch.randn(batch, 3, size, size, device=device).contiguous(
        memory_format=torch.channels_last)
    shape = (batch, size, size) if dense else (batch, )
    labels = torch.randint(num_classes, shape, device=device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with null_or_autocast(device, cuda):
            loss = loss_fn(model, images, labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if not torch.isfinite(loss):
            raise FloatingPointError(f'{name}: loss {loss.item()}')

    return Candidate(name, step, batch, 'fp16 AMP' if cuda else 'fp32')


def training(args, cfg, report: Report, lines: List[str]) -> None:
    cls_batch, cls_size = cfg.cls_train
    seg_batch, seg_size = cfg.seg_train

    def cls_loss(model, images, labels):
        return F.cross_entropy(model(images), labels)

    def seg_loss(model, images, labels):
        return model.loss(images, labels)

    candidates = [
        train_candidate(f'LeMeViT-tiny classifier, batch {cls_batch}, '
                        f'{cls_size}x{cls_size}', lemevit_classifier('tiny'),
                        cls_loss, cls_batch, cls_size, 1000, False, args),
        train_candidate(f'LeMeViT-tiny UperNet, batch {seg_batch}, '
                        f'{seg_size}x{seg_size}, head channels '
                        f'{cfg.seg_channels[0]}/{cfg.seg_channels[1]}',
                        UperNet('tiny', 5, *cfg.seg_channels), seg_loss,
                        seg_batch, seg_size, 5, True, args)]
    run_rounds(candidates, timing_args(cfg.train_timing), args.device)
    lines += ['One step: forward, loss, backward (gradient scaling on '
              'CUDA), AdamW step. The UperNet is mmseg\'s decode and '
              'auxiliary heads rebuilt from mmcv\'s ConvModule (mmseg is '
              'not needed); peak memory: the CUDA allocator\'s peak above '
              'the start of the step (on the CPU: resident memory growth).',
              '']
    rows = [[c.name, c.precision, f'{c.median:.1f}', f'{c.peak_mb:.0f}']
            for c in candidates]
    lines += table(('model', 'precision', 'img/s', 'peak memory (MB)'),
                   rows, right_from=2)


def run_gpu_check(args) -> int:
    """Run every section and write the report ``args.out``.

    Args:
        args: The options of ``tools/gpu_check.py`` (``out``, ``device``,
            ``quick``, ``budget``, ``no_compile``) and ``seeded_data``,
            the folder of the seeded reference (``tests/data/seeded``).

    Returns:
        int: 0 if every check passed, else 1.
    """
    cfg = settings(args)
    report = Report(args.out)
    if args.device.startswith('cuda'):
        torch.backends.cudnn.benchmark = True
    results: Dict[str, float] = {}
    run_section(report, 'Environment', lambda lines: environment(args, lines))
    run_section(report, '1. Parity with the authors (float64, CPU)',
                lambda lines: parity(args, cfg, report, lines))
    run_section(report, '2. Attention backends',
                lambda lines: attention_backends(args, cfg, report, lines))
    run_section(report, '3. CPU inference rewrites on this device',
                lambda lines: rewrites_on_off(args, cfg, report, lines))
    run_section(report, '4. Training step',
                lambda lines: training(args, cfg, report, lines))
    # last: its torch.compile timings stop at the budget
    run_section(report, '5. Inference throughput beside the paper',
                lambda lines: throughput(args, cfg, report, lines, results))
    print(f'{args.out}: {"PASS" if not report.failures else "FAIL"} in '
          f'{report.elapsed():.0f} s')
    for failure in report.failures:
        print(f'failure: {failure}')
    return 0 if not report.failures else 1


