"""Prepare LoveDA for ``configs/seg/lemevit_*_upernet_loveda*.py``.

SOURCE holds the official ``Train.zip``, ``Val.zip`` and ``Test.zip`` (or
their extracted ``Train/{Urban,Rural}/{images_png,masks_png}`` folders),
at any depth, names matched regardless of case and separators. Writes
mmseg's layout (links, or copies with ``--copy``)::

    OUT/img_dir/{train,val,test}/<id>.png  OUT/ann_dir/{train,val}/<id>.png
    OUT/meta/{train,val,test}_{urban,rural}.txt   ids of each domain

A label map that is not a single-channel map of ids 0-7 as large as its
image is listed as ``file: reason`` and its image left out. Example::

    python tools/dataset_converters/loveda.py /downloads/LoveDA data/loveDA
"""
import argparse
import sys

from lemevit_mm.seg.benchmark_conversion import convert_loveda


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('source', help='LoveDA download (folder or zip)')
    parser.add_argument('out', help='output data root')
    parser.add_argument('--copy', action='store_true',
                        help='copy the files instead of linking them')
    args = parser.parse_args(argv)
    try:
        report = convert_loveda(args.source, args.out, args.copy)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    for problem in report.problems:
        print(problem)
    counts = ', '.join(f'{k} {v}' for k, v in report.images.items())
    print(f'LoveDA -> {args.out}: {counts} images; '
          f'{len(report.problems)} left out.')


if __name__ == '__main__':
    main()
