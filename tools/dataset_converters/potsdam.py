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
the folder (DSM, IRRG, RGBIR, ...) are left alone: mmseg's converter would
convert them all into the same file names.

Synthetic sample (tests, demo)::

    python tools/dataset_converters/potsdam.py --synthetic \
        -o data/potsdam_sample --num-train 16 --num-val 4 --size 256
"""
import argparse
import glob
import importlib.util
import os
import os.path as osp
import sys
import tempfile
from types import ModuleType
from typing import List, Optional

RGB_ARCHIVE = '2_Ortho_RGB.zip'
LABEL_ARCHIVES = {'eroded': '5_Labels_all_noBoundary.zip',
                  'all': '5_Labels_all.zip'}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert the ISPRS Potsdam archives to mmseg\'s layout, '
        'or write a synthetic sample in that layout.')
    parser.add_argument('dataset_path', nargs='?',
                        help='folder holding the official archives')
    parser.add_argument('-o', '--out-dir', default='data/potsdam',
                        help='output data root (default: data/potsdam)')
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
    import mmseg
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools',
                    'dataset_converters', 'potsdam.py')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'mmsegmentation\'s Potsdam converter is not at {path}; is '
            'mmsegmentation installed from its wheel (pip install '
            'mmsegmentation)?')
    spec = importlib.util.spec_from_file_location('mmseg_potsdam_converter',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def choose_archives(dataset_path: str, labels: str = 'auto') -> List[str]:
    """The RGB archive and one label archive found in ``dataset_path``."""
    if not osp.isdir(dataset_path):
        raise FileNotFoundError(f'{dataset_path} is not a folder.')
    rgb = osp.join(dataset_path, RGB_ARCHIVE)
    if not osp.isfile(rgb):
        found = sorted(map(osp.basename,
                           glob.glob(osp.join(dataset_path, '*.zip'))))
        raise FileNotFoundError(
            f'{rgb} not found (archives there: {found or "none"}); download '
            f'{RGB_ARCHIVE} from the ISPRS Potsdam benchmark.')
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
    return [rgb, present[labels]]


def convert(dataset_path: str, out_dir: str, labels: str = 'auto',
            clip_size: int = 512, stride_size: int = 256,
            tmp_dir: Optional[str] = None) -> None:
    """Run mmseg's Potsdam converter on the chosen archives only."""
    archives = choose_archives(dataset_path, labels)
    converter = load_mmseg_converter()
    with tempfile.TemporaryDirectory(dir=tmp_dir) as selected:
        for archive in archives:
            os.symlink(osp.abspath(archive),
                       osp.join(selected, osp.basename(archive)))
        argv = [selected, '-o', out_dir, '--clip_size', str(clip_size),
                '--stride_size', str(stride_size)]
        if tmp_dir:
            argv += ['--tmp_dir', tmp_dir]
        saved_argv = sys.argv
        sys.argv = ['potsdam.py', *argv]
        try:
            converter.main()
        finally:
            sys.argv = saved_argv
    for split in ('train', 'val'):
        images = glob.glob(osp.join(out_dir, 'img_dir', split, '*.png'))
        label_maps = glob.glob(osp.join(out_dir, 'ann_dir', split, '*.png'))
        print(f'{split}: {len(images)} images, {len(label_maps)} label maps '
              f'in {out_dir}')


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.synthetic:
        from lemevit_mm.seg.synthetic import make_potsdam_sample
        counts = make_potsdam_sample(args.out_dir, args.num_train,
                                     args.num_val, args.size, args.seed)
        print(f'Wrote a synthetic Potsdam sample to {args.out_dir}: '
              f"{counts['train']} train and {counts['val']} val tiles of "
              f'{args.size}x{args.size}.')
        return
    convert(args.dataset_path, args.out_dir, args.labels, args.clip_size,
            args.stride_size, args.tmp_dir)


if __name__ == '__main__':
    main()
