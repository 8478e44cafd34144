"""The command line shared by the scene-classification converters
(``tools/dataset_converters/{ucmerced,aid,nwpu_resisc45}.py``)."""
import argparse
import sys
from typing import Optional, Sequence

from .scene_datasets import BENCHMARKS, convert_scene_dataset


def main(dataset: str, description: str,
         argv: Optional[Sequence[str]] = None) -> None:
    """Parse the arguments, convert, print the split sizes."""
    benchmark = BENCHMARKS[dataset]
    standard = ' / '.join(f'{round(r * 100)}%' for r in
                          benchmark.train_ratios)
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('source', help=f'{benchmark.name} download (the '
                        'folder, or its zip)')
    parser.add_argument('out', help='output data root')
    parser.add_argument('--train-ratio', type=float, nargs='+',
                        default=list(benchmark.train_ratios),
                        help=f'share(s) of each class for training '
                        f'(standard: {standard})')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the draw (the files say it unless 0)')
    parser.add_argument('--copy', action='store_true',
                        help='copy the images instead of linking them')
    args = parser.parse_args(argv)
    try:
        done = convert_scene_dataset(dataset, args.source, args.out,
                                     args.train_ratio, args.seed, args.copy)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    print(f'{benchmark.name}: {len(done["classes"])} classes, '
          f'{done["images"]} images -> {args.out}')
    for ratio, (train, test, n_train, n_test) in done['splits'].items():
        print(f'  {round(ratio * 100)}% train (seed {args.seed}): {train} '
              f'({n_train}), {test} ({n_test})')
