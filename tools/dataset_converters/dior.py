"""Prepare DIOR-R for ``configs/det/lemevit_*_oriented-rcnn_dior.py``.

SOURCE is the download: a folder holding the official zips
(``JPEGImages-trainval.zip``, ``JPEGImages-test.zip``, ``Annotations.zip``
with ``Oriented Bounding Boxes/``, ``ImageSets.zip``) or their extracted
folders, at any depth and with the names' case and separators as they
come. The output is the layout mmrotate's DIOR config reads::

    OUT/JPEGImages-trainval/*.jpg   OUT/JPEGImages-test/*.jpg
    OUT/Annotations/Oriented Bounding Boxes/*.xml
    OUT/ImageSets/Main/{train,val,test}.txt

(symlinks, or copies with ``--copy``). Invalid objects are listed as
``file:line: reason``; the dataset skips the same ones. Example::

    python tools/dataset_converters/dior.py /downloads/DIOR data/DIOR

Your own data in DIOR-R's XML format: ``--classes NAME ...`` (or a text
file, or ``--config`` whose metainfo lists them).
"""
import argparse
import sys

from lemevit_mm.det.class_lists import (DIOR_CLASSES, describe_classes,
                                        resolve_classes)
from lemevit_mm.det.xml_conversion import convert_dior


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('source', help='DIOR download (folder or zip)')
    parser.add_argument('out', help='output data root')
    parser.add_argument('--copy', action='store_true',
                        help='copy the files instead of linking them')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--classes', nargs='+', metavar='NAME',
                       help='class names, or a file of them (default: the '
                       '20 DIOR classes)')
    group.add_argument('--config',
                       help="take the classes from this config's metainfo")
    args = parser.parse_args(argv)
    try:
        classes = resolve_classes(args.classes, args.config, DIOR_CLASSES)
        report = convert_dior(args.source, args.out, classes, args.copy)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    for problem in report.problems:
        print(problem)
    counts = ', '.join(f'{name} {count} images ({report.objects[name]} '
                       'objects)' for name, count in report.images.items())
    print(f'DIOR-R -> {args.out}: {counts}; {describe_classes(classes)}; '
          f'{len(report.problems)} invalid object(s) skipped.')


if __name__ == '__main__':
    main()
