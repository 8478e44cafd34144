"""Prepare ISPRS Potsdam for the segmentation configs, or a synthetic
sample of it.

Real data: put the official archives in one folder, then::

    python tools/dataset_converters/potsdam.py /path/to/archives \
        -o data/potsdam

It runs mmsegmentation's own Potsdam converter on ``2_Ortho_RGB.zip`` and
one label archive (``5_Labels_all_noBoundary.zip``, the eroded labels, or
``5_Labels_all.zip``; choose with ``--labels`` when both are there), and
writes 512x512 crops (stride 256) to ``img_dir/{train,val}`` and
``ann_dir/{train,val}`` with label ids 0 boundary, 1 impervious surface,
2 building, 3 low vegetation, 4 tree, 5 car, 6 clutter. Other archives in
the folder are left alone: mmseg's converter would convert them all into
the same file names.

Other bands (``--bands``; one output folder per choice):

- ``irrg``: ``3_Ortho_IRRG.zip`` instead of the RGB one (mmseg's
  converter, PNG crops holding IR, R, G);
- ``rgbir``: ``4_Ortho_RGBIR.zip``, 4-band TIFF crops (R, G, B, IR);
- ``rgbir-dsm``: ``4_Ortho_RGBIR.zip`` and ``1_DSM_normalisation.zip``,
  5-band TIFF crops (R, G, B, IR, normalised DSM).

The labels are converted by mmseg's converter, and the TIFF crops are cut
at the same boxes (same names, ``.tif``)::

    python tools/dataset_converters/potsdam.py /path/to/archives \
        --bands rgbir-dsm -o data/potsdam_rgbir_dsm

Synthetic sample (tests, demo; ``--bands`` as above)::

    python tools/dataset_converters/potsdam.py --synthetic \
        -o data/potsdam_sample --num-train 16 --num-val 4 --size 256
"""
import argparse
from typing import List, Optional

from lemevit_mm.seg.isprs_conversion import (POTSDAM_BAND_ARCHIVES,
                                             choose_potsdam_archives,
                                             convert_potsdam)

# The archives a conversion of this tool reads.
choose_archives = choose_potsdam_archives


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert the ISPRS Potsdam archives to mmseg\'s layout, '
        'or write a synthetic sample in that layout.')
    parser.add_argument('dataset_path', nargs='?',
                        help='folder holding the official archives')
    parser.add_argument('-o', '--out-dir', default='data/potsdam',
                        help='output data root (default: data/potsdam)')
    parser.add_argument('--bands', choices=sorted(POTSDAM_BAND_ARCHIVES),
                        default='rgb',
                        help='image archives to convert (default: rgb)')
    parser.add_argument('--labels', choices=['auto', 'eroded', 'all'],
                        default='auto',
                        help='label archive: eroded (noBoundary) or all; '
                        'auto takes the only one present')
    parser.add_argument('--clip-size', type=int, default=512,
                        help='crop size (default: 512)')
    parser.add_argument('--stride-size', type=int, default=256,
                        help='crop stride (default: 256)')
    parser.add_argument('--tmp-dir', help='where to unpack the archives')
    parser.add_argument('--synthetic', action='store_true',
                        help='write a synthetic sample instead')
    parser.add_argument('--num-train', type=int, default=16,
                        help='synthetic training tiles (default: 16)')
    parser.add_argument('--num-val', type=int, default=4,
                        help='synthetic validation tiles (default: 4)')
    parser.add_argument('--size', type=int, default=256,
                        help='synthetic tile size (default: 256)')
    parser.add_argument('--seed', type=int, default=0,
                        help='synthetic random seed (default: 0)')
    args = parser.parse_args(argv)
    if not args.synthetic and not args.dataset_path:
        parser.error('give the folder of the ISPRS archives, or --synthetic')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.synthetic:
        from lemevit_mm.testing.seg import make_potsdam_sample
        counts = make_potsdam_sample(args.out_dir, args.num_train,
                                     args.num_val, args.size, args.seed,
                                     bands=args.bands)
        print(f'Wrote a synthetic Potsdam sample ({args.bands}) to '
              f"{args.out_dir}: {counts['train']} train and {counts['val']} "
              f'val tiles of {args.size}x{args.size}.')
        return
    counts = convert_potsdam(args.dataset_path, args.out_dir, args.labels,
                             args.clip_size, args.stride_size, args.tmp_dir,
                             args.bands)
    for split, (images, label_maps) in counts.items():
        print(f'{split}: {images} images, {label_maps} label maps in '
              f'{args.out_dir}')


if __name__ == '__main__':
    main()
