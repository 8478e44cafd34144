"""Write an N-band LeMeViT checkpoint from an RGB one.

The input is an authors' LeMeViT file or an MMEngine checkpoint of this
project (a classifier, segmentor, detector or change detector: every
LeMeViT stem in it, ``stem.0.weight`` under any prefix, is adapted). The
output holds ``{'state_dict': ..., 'meta': ...}`` in this project's names
(an authors' file is converted as by ``lemevit_official.py``) with the
stem adapted as ``init_cfg=dict(adapt_channels=...)`` would adapt it, so
it loads into ``LeMeViT(in_channels=N)`` without ``adapt_channels``, as
``load_from`` or as a backbone ``init_cfg``. Optimizer states are not
copied (their stem entries would no longer fit).

Modes (see ``lemevit_mm/models/utils/channel_adaptation.py``): ``zero``
(the default: the RGB model exactly, extra bands learn from zero),
``mean`` and ``repeat`` (scaled by 3/N). ``--rgb-bands`` gives the
0-based input bands of R, G, B, ``none`` for a colour the input lacks.

Example (RGB-IR, and IR-R-G)::

    python tools/model_converters/lemevit_adapt_channels.py \
        lemevit_tiny.pth checkpoints/lemevit_t_rgbir.pth --in-channels 4
    python tools/model_converters/lemevit_adapt_channels.py \
        lemevit_tiny.pth checkpoints/lemevit_t_irrg.pth --in-channels 3 \
        --rgb-bands 1 2 none
"""
import argparse
import os
import os.path as osp
import re
import sys
import time
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

from lemevit_mm.cls.official import convert_official_classifier, \
    looks_official
from lemevit_mm.engine import write_atomically
from lemevit_mm.models.utils.channel_adaptation import (
    ADAPT_MODES, DEFAULT_ADAPT_MODE, adapt_stem_state, describe_adaptation,
    parse_rgb_bands)
from lemevit_mm.utils.checkpoint import load_weights, select_state_dict

CONVERTER = 'tools/model_converters/lemevit_adapt_channels.py'
STEM_PATTERN = re.compile(r'^(?:.*\.)?stem\.0\.weight$')


def stem_keys(state: Dict[str, Tensor]) -> List[str]:
    """The names of every LeMeViT stem convolution weight in ``state``."""
    return [key for key in state if STEM_PATTERN.match(key)
            and state[key].dim() == 4]


def adapt_checkpoint(src: str, dst: str, in_channels: int,
                     mode: str = DEFAULT_ADAPT_MODE,
                     rgb_bands: Optional[Sequence[Optional[int]]] = None
                     ) -> dict:
    """Adapt every stem of ``src`` to ``in_channels`` bands and write
    ``dst``; return the ``meta`` written.

    Raises:
        ValueError: ``src`` holds no RGB LeMeViT stem, or the settings are
            invalid.
    """
    checkpoint = load_weights(src)
    state = select_state_dict(checkpoint, src)
    official = looks_official(state)
    if official:
        state = convert_official_classifier(state)
    keys = stem_keys(state)
    if not keys:
        raise ValueError(
            f'{src} holds no LeMeViT stem (no *stem.0.weight, no '
            f'downsample_layers.0.0.weight; first keys: {list(state)[:4]}).')
    bands = parse_rgb_bands(rgb_bands, in_channels, mode, '--rgb-bands')
    for key in keys:
        if state[key].shape[1] != 3:
            raise ValueError(
                f'{src}: {key} has {state[key].shape[1]} input channels; '
                'only RGB (3-channel) stems are adapted.')
        state, _ = adapt_stem_state(state, in_channels, mode, bands, src,
                                    key=key)
    source_meta = checkpoint.get('meta') if isinstance(checkpoint,
                                                       dict) else None
    meta = dict(source_meta) if isinstance(source_meta, dict) else {}
    meta.update(
        in_channels=in_channels,
        adapt_channels=mode,
        rgb_bands=list(bands),
        adapted_weights=keys,
        adaptation=describe_adaptation(in_channels, mode, bands),
        adapted_from=osp.abspath(src),
        source_layout='authors' if official else 'mmengine',
        adapted_by=CONVERTER,
        adapted_time=time.strftime('%Y-%m-%d %H:%M:%S'))
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    write_atomically(
        dst, lambda tmp: torch.save(dict(state_dict=state, meta=meta), tmp))
    return meta


def parse_band(text: str) -> Optional[int]:
    """A ``--rgb-bands`` entry: a 0-based band index or ``none``."""
    if text.lower() in ('none', '-'):
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'a band is a 0-based index or "none", got {text!r}') from None


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Adapt an RGB LeMeViT checkpoint to N input bands.')
    parser.add_argument('src', help='RGB checkpoint (authors\' or MMEngine)')
    parser.add_argument('dst', help='N-band MMEngine checkpoint to write')
    parser.add_argument('--in-channels', type=int, required=True,
                        help='number of input bands N')
    parser.add_argument('--mode', choices=ADAPT_MODES,
                        default=DEFAULT_ADAPT_MODE,
                        help=f'adaptation (default: {DEFAULT_ADAPT_MODE})')
    parser.add_argument('--rgb-bands', type=parse_band, nargs=3,
                        metavar=('R', 'G', 'B'),
                        help='0-based input bands of R, G, B, "none" where '
                        'absent (default: 0 1 2)')
    args = parser.parse_args()
    if osp.abspath(args.src) == osp.abspath(args.dst):
        parser.error('dst must differ from src')
    try:
        meta = adapt_checkpoint(args.src, args.dst, args.in_channels,
                                args.mode, args.rgb_bands)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        sys.exit(f'error: {error}')
    print(f'{args.src} -> {args.dst}: {meta["adaptation"]} '
          f'({len(meta["adapted_weights"])} stem weight(s): '
          f'{", ".join(meta["adapted_weights"])})')


if __name__ == '__main__':
    main()
