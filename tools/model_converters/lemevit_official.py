"""Convert an authors' LeMeViT checkpoint to an MMEngine checkpoint.

The result holds ``{'state_dict': ..., 'meta': ...}`` with the names of
this project's classifier (``backbone.*``, ``neck.norm_x.*``,
``neck.norm_meta.*``, ``head.fc.*``), so it works as ``load_from`` of
``configs/cls/*``, with ``tools/test.py CONFIG DST``, and as a backbone
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``
in the other tasks. The EMA copy of the weights is preferred when the file
has one. The conversion is
:func:`lemevit_mm.models.official_checkpoint.convert_checkpoint`.

Example::

    python tools/model_converters/lemevit_official.py \
        lemevit_tiny.pth checkpoints/lemevit_t_in1k.pth
"""
import argparse
import sys

from lemevit_mm.models.official_checkpoint import (NotOfficialError,
                                                   convert_checkpoint)


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Convert an authors\' LeMeViT checkpoint to MMEngine.')
    parser.add_argument('src', help='authors\' checkpoint (.pth)')
    parser.add_argument('dst', help='MMEngine checkpoint to write')
    args = parser.parse_args()
    try:
        meta = convert_checkpoint(args.src, args.dst)
    except (NotOfficialError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    print(f'{args.src} ({meta["source_weights"]}, arch {meta["arch"]}, '
          f'{meta["num_classes"]} classes) -> {args.dst}')


if __name__ == '__main__':
    main()
