"""Prepare ISPRS Vaihingen for ``configs/seg/lemevit_t_upernet_vaihingen.py``
(mmseg's layout), or write a synthetic sample of it.

Real data: put ``ISPRS_semantic_labeling_Vaihingen.zip`` (the IR-R-G
orthophotos, ``top/top_mosaic_09cm_area<N>.tif``) and
``ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip`` in
one folder, then::

    python tools/dataset_converters/vaihingen.py /path/to/archives \\
        -o data/vaihingen

It runs mmsegmentation's own Vaihingen converter on these two archives:
512x512 crops in ``img_dir/{train,val}`` (PNG, the file's colour
channels hold IR, R, G) and ``ann_dir/{train,val}`` with the Potsdam ids
(0 boundary, 1 impervious surface, 2 building, 3 low vegetation, 4 tree,
5 car, 6 clutter), and mmseg's split (16 train, 17 val areas).

Synthetic sample::

    python tools/dataset_converters/vaihingen.py --synthetic \\
        -o data/vaihingen_sample
"""
import argparse
from typing import List, Optional

from lemevit_mm.seg.isprs_conversion import convert_vaihingen


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert the ISPRS Vaihingen archives to mmseg\'s '
        'layout, or write a synthetic sample in that layout.')
    parser.add_argument('dataset_path', nargs='?',
                        help='folder holding the two archives')
    parser.add_argument('-o', '--out-dir', default='data/vaihingen',
                        help='output data root (default: data/vaihingen)')
    parser.add_argument('--clip-size', type=int, default=512)
    parser.add_argument('--stride-size', type=int, default=256)
    parser.add_argument('--tmp-dir', help='where to unpack the archives')
    parser.add_argument('--synthetic', action='store_true',
                        help='write a synthetic sample instead')
    parser.add_argument('--num-train', type=int, default=16)
    parser.add_argument('--num-val', type=int, default=4)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if not args.synthetic and not args.dataset_path:
        parser.error('give the folder of the ISPRS archives, or --synthetic')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.synthetic:
        from lemevit_mm.testing.seg import make_vaihingen_sample
        counts = make_vaihingen_sample(args.out_dir, args.num_train,
                                       args.num_val, args.size, args.seed)
        print(f'Wrote a synthetic Vaihingen sample (IRRG) to '
              f"{args.out_dir}: {counts['train']} train and {counts['val']} "
              f'val tiles of {args.size}x{args.size}.')
        return
    counts = convert_vaihingen(args.dataset_path, args.out_dir,
                               args.clip_size, args.stride_size,
                               args.tmp_dir)
    for split, count in counts.items():
        print(f'{split}: {count} images in {args.out_dir}')


if __name__ == '__main__':
    main()
