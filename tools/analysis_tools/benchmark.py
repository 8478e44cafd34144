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
from typing import Optional, Sequence

import torch

from lemevit_mm.analysis.benchmark import run_benchmark
from lemevit_mm.analysis.model_specs import PRESETS, spec_is_config


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


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    table = run_benchmark(args, device)
    print(table)
    return table


if __name__ == '__main__':
    main()
