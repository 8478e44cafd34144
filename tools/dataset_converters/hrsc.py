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
from lemevit_mm.det.class_lists import HRSC_CLASSES, describe_classes
from lemevit_mm.det.xml_conversion import convert_hrsc, converter_main


def one_class(classes) -> None:
    if len(classes) != 1:
        raise ValueError(f'HRSC2016 (level 1) has one class, got '
                         f'{describe_classes(classes)}.')


def summary(out, report, classes) -> str:
    counts = ', '.join(f'{name} {count} images ({report.objects[name]} '
                       'ships)' for name, count in report.images.items())
    return (f'HRSC2016 -> {out}: {counts}; {len(report.problems)} '
            'invalid object(s) skipped.')


def main(argv=None) -> None:
    converter_main(
        convert_hrsc, HRSC_CLASSES, __doc__, summary, argv,
        source_help='HRSC2016 release (folder or zip)',
        classes_help='the one class name (default: ship)', classes_nargs=1,
        config_help="take the class from this config's metainfo",
        check_classes=one_class)


if __name__ == '__main__':
    main()
