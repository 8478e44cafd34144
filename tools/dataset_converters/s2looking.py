"""Prepare S2Looking for ``configs/cd/lemevit_*_bit_s2looking.py``.

SOURCE: the download of S2Looking
(``{train,val,test}/{Image1,Image2,label}``, 1024x1024 PNG),
in folders or zips, at any depth, names matched regardless of case and
separators. The output has the same layout (links, or copies with
``--copy``). A pair without its other date or label, of different
sizes, or with a label that is not binary (0/255 or 0/1) is listed as
``file: reason`` and left out. Example::

    python tools/dataset_converters/s2looking.py /downloads/S2Looking \
        data/S2Looking
"""
import argparse
import sys

from lemevit_mm.cd.benchmark_conversion import convert_cd


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('source', help='the download (folder or zip)')
    parser.add_argument('out', help='output data root')
    parser.add_argument('--copy', action='store_true',
                        help='copy the files instead of linking them')
    args = parser.parse_args(argv)
    try:
        report = convert_cd('s2looking', args.source, args.out, args.copy)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    for problem in report.problems:
        print(problem)
    counts = ', '.join(f'{k} {v}' for k, v in report.pairs.items())
    print(f'S2Looking -> {args.out}: {counts} pairs; '
          f'{len(report.problems)} problem(s).')


if __name__ == '__main__':
    main()
