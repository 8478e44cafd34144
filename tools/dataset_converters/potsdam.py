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
import glob
import os.path as osp
import sys
from types import ModuleType
from typing import List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)  # run from a checkout without installing, too

from lemevit_mm.seg import isprs_conversion  # noqa: E402

LABEL_ARCHIVES = {'eroded': '5_Labels_all_noBoundary.zip',
                  'all': '5_Labels_all.zip'}
# The image archives of each band choice; the first is converted by
# mmseg's converter when it is alone, else all are cropped here.
BAND_ARCHIVES = {
    'rgb': ('2_Ortho_RGB.zip', ),
    'irrg': ('3_Ortho_IRRG.zip', ),
    'rgbir': ('4_Ortho_RGBIR.zip', ),
    'rgbir-dsm': ('4_Ortho_RGBIR.zip', '1_DSM_normalisation.zip'),
}
# Written as TIFF crops by this script (more than 3 bands).
MULTIBAND = ('rgbir', 'rgbir-dsm')
RGB_ARCHIVE = BAND_ARCHIVES['rgb'][0]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert the ISPRS Potsdam archives to mmseg\'s layout, '
        'or write a synthetic sample in that layout.')
    parser.add_argument('dataset_path', nargs='?',
                        help='folder holding the official archives')
    parser.add_argument('-o', '--out-dir', default='data/potsdam',
                        help='output data root (default: data/potsdam)')
    parser.add_argument('--bands', choices=sorted(BAND_ARCHIVES),
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


def load_mmseg_converter() -> ModuleType:
    """Import the Potsdam converter that ships with mmsegmentation."""
    return isprs_conversion.load_mmseg_converter('potsdam')


def choose_archives(dataset_path: str, labels: str = 'auto',
                    bands: str = 'rgb') -> List[str]:
    """The image archives of ``bands`` and one label archive found in
    ``dataset_path``."""
    if not osp.isdir(dataset_path):
        raise FileNotFoundError(f'{dataset_path} is not a folder.')
    images = [osp.join(dataset_path, name) for name in BAND_ARCHIVES[bands]]
    for image in images:
        if not osp.isfile(image):
            found = sorted(map(osp.basename,
                               glob.glob(osp.join(dataset_path, '*.zip'))))
            raise FileNotFoundError(
                f'{image} not found (archives there: {found or "none"}); '
                f'download {osp.basename(image)} from the ISPRS Potsdam '
                'benchmark.')
    present = {kind: osp.join(dataset_path, name)
               for kind, name in LABEL_ARCHIVES.items()
               if osp.isfile(osp.join(dataset_path, name))}
    if labels == 'auto':
        if not present:
            raise FileNotFoundError(
                f'No label archive ({" or ".join(LABEL_ARCHIVES.values())}) '
                f'in {dataset_path}.')
        if len(present) > 1:
            raise FileNotFoundError(
                f'Both {" and ".join(LABEL_ARCHIVES.values())} are in '
                f'{dataset_path}; choose one with --labels eroded|all.')
        labels = next(iter(present))
    if labels not in present:
        raise FileNotFoundError(
            f'{osp.join(dataset_path, LABEL_ARCHIVES[labels])} not found.')
    return [*images, present[labels]]


def convert(dataset_path: str, out_dir: str, labels: str = 'auto',
            clip_size: int = 512, stride_size: int = 256,
            tmp_dir: Optional[str] = None, bands: str = 'rgb') -> None:
    """Convert the archives of ``bands`` and the labels: mmseg's Potsdam
    converter for the labels and 3-band images, the multi-band TIFF crops
    at the label crops' boxes."""
    *images, label_archive = choose_archives(dataset_path, labels, bands)
    if bands in MULTIBAND:
        isprs_conversion.run_mmseg_converter(
            'potsdam', [label_archive], out_dir, clip_size, stride_size,
            tmp_dir)
        isprs_conversion.crop_multiband_tiles(images, out_dir, tmp_dir)
    else:
        isprs_conversion.run_mmseg_converter(
            'potsdam', [*images, label_archive], out_dir, clip_size,
            stride_size, tmp_dir)
    suffix = '.tif' if bands in MULTIBAND else '.png'
    for split in ('train', 'val'):
        images = glob.glob(osp.join(out_dir, 'img_dir', split, '*' + suffix))
        label_maps = glob.glob(osp.join(out_dir, 'ann_dir', split, '*.png'))
        print(f'{split}: {len(images)} images, {len(label_maps)} label maps '
              f'in {out_dir}')


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.synthetic:
        from lemevit_mm.seg.synthetic import make_potsdam_sample
        counts = make_potsdam_sample(args.out_dir, args.num_train,
                                     args.num_val, args.size, args.seed,
                                     bands=args.bands)
        print(f'Wrote a synthetic Potsdam sample ({args.bands}) to '
              f"{args.out_dir}: {counts['train']} train and {counts['val']} "
              f'val tiles of {args.size}x{args.size}.')
        return
    convert(args.dataset_path, args.out_dir, args.labels, args.clip_size,
            args.stride_size, args.tmp_dir, args.bands)


if __name__ == '__main__':
    main()
