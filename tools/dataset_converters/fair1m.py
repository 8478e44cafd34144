"""Prepare FAIR1M-2.0 for ``configs/det/lemevit_*_oriented-rcnn_fair1m.py``.

SOURCE is the download (``train/images/*.tif``, ``train/labelXml/*.xml``,
``validation/images``, ``validation/labelXml``, ``test/images``; folders
or zips, at any depth). Writes DOTA text labels (class names as one
token, ``Passenger_Ship``; invalid objects listed as ``file:line:
reason`` and skipped) and links to the images::

    OUT/{train,val,test}/images/  OUT/{train,val}/labelTxt/

then split them into 1024x1024 patches as DOTA::

    python tools/dataset_converters/fair1m.py /downloads/FAIR1M2.0 \
        data/FAIR1M
    python tools/dataset_converters/dota.py split data/FAIR1M \
        data/split_ss_fair1m --dataset fair1m
"""
import argparse
import sys

from lemevit_mm.det.class_lists import (FAIR1M_CLASSES, describe_classes,
                                        resolve_classes)
from lemevit_mm.det.fair1m import convert_fair1m


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('source', help='FAIR1M download (folder or zip)')
    parser.add_argument('out', help='output root (DOTA layout)')
    parser.add_argument('--copy', action='store_true',
                        help='copy the images instead of linking them')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--classes', nargs='+', metavar='NAME',
                       help='class names as in the XML files, or a file of '
                       'them (default: the 37 FAIR1M-2.0 classes)')
    group.add_argument('--config',
                       help="take the classes from this config's metainfo")
    args = parser.parse_args(argv)
    try:
        classes = resolve_classes(args.classes, args.config, FAIR1M_CLASSES)
        report = convert_fair1m(args.source, args.out, classes, args.copy)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    for problem in report.problems:
        print(problem)
    print(f'FAIR1M -> {args.out}: images {report.images}, objects '
          f'{report.objects}; {describe_classes(classes)}; '
          f'{len(report.problems)} invalid object(s) skipped.')


if __name__ == '__main__':
    main()
