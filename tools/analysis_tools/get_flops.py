"""Parameters and MACs of models and configs, beside the published numbers.

What is counted (matrix products and convolutions, attention included,
as multiply-accumulates) and what a config runs: see
:mod:`lemevit_mm.analysis.flops`.

Examples::

    python tools/analysis_tools/get_flops.py configs/seg/\\
lemevit_t_upernet_potsdam.py --input-size 512
    python tools/analysis_tools/get_flops.py lemevit-t swin-t
    python tools/analysis_tools/get_flops.py --paper   # the whole table
"""
import argparse
import os.path as osp
from typing import List, Optional, Sequence

import torch

from lemevit_mm.analysis.flops import models_table, paper_table
from lemevit_mm.analysis.model_specs import PRESETS
from lemevit_mm.io.atomic import write_text

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Parameters and MACs (matrix products and '
        'convolutions, attention included).')
    parser.add_argument(
        'models', nargs='*',
        help=f'configs, presets ({", ".join(PRESETS)}) or registered types '
        "with arguments like \"LeMeViT(arch='small')\"")
    parser.add_argument('--input-size', type=int, nargs='+', default=None,
                        help='H [W]; defaults to 224, or the paper size '
                        'of a config listed in PUBLISHED')
    parser.add_argument('--paper', action='store_true',
                        help='every config of the paper at its input size, '
                        'beside the published numbers')
    parser.add_argument('--only', default=None,
                        help='with --paper: only configs whose path '
                        'contains this text (e.g. "seg/" or "_t_")')
    parser.add_argument('--work-dir', default=None,
                        help='also write flops.md there')
    args = parser.parse_args(argv)
    if not args.models and not args.paper:
        parser.error('give models/configs or --paper')
    return args


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    torch.manual_seed(0)
    tables: List[str] = []
    if args.models:
        tables.append(models_table(args.models, args.input_size, REPO))
    if args.paper:
        tables.append(paper_table(REPO, args.only))
    text = '\n'.join(tables)
    if args.work_dir:
        write_text(osp.join(args.work_dir, 'flops.md'), text,
                   make_folder=True)
    print(text)
    return text


if __name__ == '__main__':
    main()
