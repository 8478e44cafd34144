"""Prepare DOTA-v1.0 for the oriented-detection configs.

Split the downloaded dataset into 1024x1024 patches (gap 200) with
mmrotate's own split tool, after checking every annotation line::

    python tools/dataset_converters/dota.py split data/DOTA \
        data/split_ss_dota

``data/DOTA`` holds ``train/images``, ``train/labelTxt``, ``val/images``,
``val/labelTxt`` and ``test/images``; the output gets ``train/``, ``val/``
and ``test/``, each with ``images/`` and ``annfiles/``.

Lines of classes that are not DOTA-v1.0's are reported and skipped; for
DOTA-v1.5 / v2.0 or your own data in DOTA text, name the classes (or the
config whose ``metainfo`` lists them)::

    python tools/dataset_converters/dota.py split data/crowns \
        data/split_crowns --classes tree
    python tools/dataset_converters/dota.py split data/DOTA-v2.0 \
        data/split_ss_dota2_0 --dataset dota2.0 --ann-subdir labelTxt-v2.0
    python tools/dataset_converters/dota.py split data/crowns \
        data/split_crowns --config my_crowns_config.py

Multi-scale (mmrotate's ``ms`` configs): ``--rates 0.5 1.0 1.5 --gap 500``.

Write a small synthetic dataset in the same raw format (for tests and
smoke runs)::

    python tools/dataset_converters/dota.py synthetic data/DOTA_synthetic \
        --num-images 8 4 2
"""
import argparse
import sys

from lemevit_mm.det.class_lists import (BENCHMARK_CLASSES, describe_classes,
                                        resolve_classes)
from lemevit_mm.det.dota_split import split_dota
from lemevit_mm.testing.det import make_synthetic_dota


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)

    split = commands.add_parser('split', help='split images into patches')
    split.add_argument('data_root', help='raw DOTA root (train/val/test)')
    split.add_argument('out_root', help='output root of the patches')
    split.add_argument('--splits', nargs='+',
                       default=['train', 'val', 'test'])
    split.add_argument('--size', type=int, default=1024, help='patch size')
    split.add_argument('--gap', type=int, default=200,
                       help='overlap of neighbouring patches')
    split.add_argument('--ann-subdir', default='labelTxt',
                       help='annotation folder inside each split')
    split.add_argument('--nproc', type=int, default=4)
    split.add_argument('--rates', type=float, nargs='+', default=[1.0],
                       help='scales (multi-scale: 0.5 1.0 1.5 --gap 500)')
    classes = split.add_mutually_exclusive_group()
    classes.add_argument(
        '--classes', nargs='+', metavar='NAME',
        help='class names (or a text file, one per line) of the data; '
        'default: those of --dataset')
    classes.add_argument(
        '--config', help='take the classes from this config\'s metainfo')
    split.add_argument('--dataset', default='dota1.0',
                       choices=sorted(BENCHMARK_CLASSES),
                       help='benchmark whose classes are the default')

    synthetic = commands.add_parser(
        'synthetic', help='write a synthetic DOTA-format dataset')
    synthetic.add_argument('out_root')
    synthetic.add_argument('--num-images', type=int, nargs=3,
                           default=[8, 4, 2], metavar=('TRAIN', 'VAL', 'TEST'))
    synthetic.add_argument('--image-size', type=int, nargs=2,
                           default=[256, 320], metavar=('HEIGHT', 'WIDTH'))
    synthetic.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.command == 'split':
        try:
            classes = resolve_classes(args.classes, args.config,
                                      BENCHMARK_CLASSES[args.dataset])
            problems = split_dota(args.data_root, args.out_root, args.splits,
                                  size=args.size, gap=args.gap,
                                  ann_subdir=args.ann_subdir,
                                  nproc=args.nproc, classes=classes,
                                  rates=args.rates)
        except (ValueError, FileNotFoundError, FileExistsError) as error:
            sys.exit(f'error: {error}')
        skipped = sum(len(p) for p in problems.values())
        print(f'Split {", ".join(args.splits)} into {args.out_root} '
              f'({args.size}px patches, gap {args.gap}, rates '
              f'{" ".join(map(str, args.rates))}, '
              f'{describe_classes(classes)}); {skipped} invalid '
              'annotation line(s) skipped.')
    else:
        ids = make_synthetic_dota(
            args.out_root,
            dict(zip(('train', 'val', 'test'), args.num_images)),
            image_size=tuple(args.image_size), seed=args.seed)
        print(f'Wrote {sum(map(len, ids.values()))} synthetic DOTA images '
              f'to {args.out_root}')


if __name__ == '__main__':
    main()
