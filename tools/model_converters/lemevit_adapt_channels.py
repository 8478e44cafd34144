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
The adaptation is
:func:`lemevit_mm.models.official_checkpoint.adapt_checkpoint`.

Example (RGB-IR, and IR-R-G)::

    python tools/model_converters/lemevit_adapt_channels.py \
        lemevit_tiny.pth checkpoints/lemevit_t_rgbir.pth --in-channels 4
    python tools/model_converters/lemevit_adapt_channels.py \
        lemevit_tiny.pth checkpoints/lemevit_t_irrg.pth --in-channels 3 \
        --rgb-bands 1 2 none
"""
import argparse
import os.path as osp
import sys
from typing import Optional

from lemevit_mm.models.official_checkpoint import adapt_checkpoint
from lemevit_mm.models.utils.channel_adaptation import (ADAPT_MODES,
                                                        DEFAULT_ADAPT_MODE)


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
