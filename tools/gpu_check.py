"""One-shot GPU check of LeMeViT: parity, attention backends, throughput
beside the paper, training steps, and the CPU inference rewrites on CUDA.

Made for a short loan of a GPU machine without network: it needs only
torch, mmengine and mmcv (mmcv-lite does; ``tools/gpu_check.sh`` installs
them from the wheels that ``make gpu-wheels`` downloads), uses timm for
the peers when it is there, stays within ``--budget`` seconds (the
torch.compile timings come last and are skipped, with a note, when the
time left would not cover them) and writes one markdown report, rewritten
after every section so that an interrupted run still leaves one.

Sections:

1. Parity with the authors' float64 outputs (the seeded reference of the
   test suite, ``tests/data/seeded``): backbone maps and classifier logits
   of LeMeViT-tiny and -small in fp32 (TF32 off), fp16 and bf16 autocast,
   on the plain layers (autograd on) and the inference rewrites (no grad).
   The bound of a precision is 5x the authors' own float32 error, scaled
   by the unit roundoff of the precision over float32's (fp16 2^-11, bf16
   2^-8, fp32 2^-24); NaN or an error above the bound fails.
2. Every attention backend that runs (sdpa, math; flash and xformers if
   importable) with the dispatch and fallback lines.
3. The inference rewrites made for the CPU (folded attention
   projections, folded batch norms, one-convolution position encoding) on
   and off, eager, timed side by side: do they help on this device?
4. One fp16-AMP training step of the tiny classifier (224x224) and of the
   tiny UperNet (512x512): img/s and peak memory.
5. Inference throughput (batch 256, 224x224, fp16 autocast, channels
   last; eager, then torch.compile) of our tiny/small/base classifiers and
   timm's Swin-T and PVTv2-b1, beside the paper's figures.

``--device cpu --quick`` runs the same on the CPU in seconds (small
batches and sizes, no torch.compile, bf16 instead of fp16 autocast in the
timings); ``tests/test_gpu_check.py`` runs it that way.

The check lives in :mod:`lemevit_mm.analysis.gpu_check`; on a machine
where the package is not installed, ``bash tools/gpu_check.sh REPORT.md``
runs it from this checkout.

Example::

    python tools/gpu_check.py --out work_dirs/gpu_check.md
    python tools/gpu_check.py --device cpu --quick --out /tmp/gpu_check.md
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

import torch

from lemevit_mm.analysis.gpu_check import run_gpu_check

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SEEDED_DATA = osp.join(REPO, 'tests', 'data', 'seeded')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='One-shot GPU check: parity, attention backends, '
        'throughput, training steps, inference rewrites; one markdown '
        'report.')
    parser.add_argument('--out', required=True, help='report (.md)')
    parser.add_argument('--device', default=None,
                        help='cuda or cpu (default: cuda if available)')
    parser.add_argument('--quick', action='store_true',
                        help='small batches and sizes, no compile')
    parser.add_argument('--budget', type=float, default=420,
                        help='seconds the whole check may take (default '
                        '420); the compiled timings are skipped when the '
                        'time left would not cover them')
    parser.add_argument('--no-compile', action='store_true',
                        help='skip the torch.compile timings')
    args = parser.parse_args(argv)
    if not args.out.endswith('.md'):
        parser.error(f'--out must end with .md, got {args.out}')
    args.device = args.device or ('cuda' if torch.cuda.is_available()
                                  else 'cpu')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error('--device cuda, but torch sees no CUDA device')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    args.seeded_data = SEEDED_DATA
    return run_gpu_check(args)


if __name__ == '__main__':
    sys.exit(main())
