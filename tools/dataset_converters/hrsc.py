"""Prepare HRSC2016 for ``configs/det/lemevit_*_oriented-rcnn_hrsc.py``.

SOURCE is the extracted release (the official multi-part RAR archive
``HRSC2016.part01.rar`` ... must be extracted first, e.g. ``unrar x``), or
zips of it: ``FullDataSet/AllImages/*.bmp``,
``FullDataSet/Annotations/*.xml`` and ``ImageSets/{trainval,test}.txt``
(``train``/``val`` too when present), at any depth. The output is the
layout mmrotate's HRSC config reads::

    OUT/FullDataSet/AllImages/*.bmp  OUT/FullDataSet/Annotations/*.xml
    OUT/ImageSets/{trainval,test}.txt

(symlinks, or copies with ``--copy``). Every ship is checked; invalid
ones are listed as ``file:line: reason`` and the dataset skips them.
Example::

    python tools/dataset_converters/hrsc.py /downloads/HRSC2016 data/hrsc
"""
import argparse
import sys

from lemevit_mm.det.class_lists import (HRSC_CLASSES, describe_classes,
                                        resolve_classes)
from lemevit_mm.det.xml_conversion import convert_hrsc


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('source', help='HRSC2016 release (folder or zip)')
    parser.add_argument('out', help='output data root')
    parser.add_argument('--copy', action='store_true',
                        help='copy the files instead of linking them')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--classes', nargs=1, metavar='NAME',
                       help='the one class name (default: ship)')
    group.add_argument('--config',
                       help="take the class from this config's metainfo")
    args = parser.parse_args(argv)
    try:
        classes = resolve_classes(args.classes, args.config, HRSC_CLASSES)
        if len(classes) != 1:
            raise ValueError(f'HRSC2016 (level 1) has one class, got '
                             f'{describe_classes(classes)}.')
        report = convert_hrsc(args.source, args.out, classes, args.copy)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    for problem in report.problems:
        print(problem)
    counts = ', '.join(f'{name} {count} images ({report.objects[name]} '
                       'ships)' for name, count in report.images.items())
    print(f'HRSC2016 -> {args.out}: {counts}; {len(report.problems)} '
          'invalid object(s) skipped.')


if __name__ == '__main__':
    main()
