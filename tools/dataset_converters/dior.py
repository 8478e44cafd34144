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
from lemevit_mm.det.class_lists import DIOR_CLASSES, describe_classes
from lemevit_mm.det.xml_conversion import convert_dior, converter_main


def summary(out, report, classes) -> str:
    counts = ', '.join(f'{name} {count} images ({report.objects[name]} '
                       'objects)' for name, count in report.images.items())
    return (f'DIOR-R -> {out}: {counts}; {describe_classes(classes)}; '
            f'{len(report.problems)} invalid object(s) skipped.')


def main(argv=None) -> None:
    converter_main(
        convert_dior, DIOR_CLASSES, __doc__, summary, argv,
        source_help='DIOR download (folder or zip)',
        classes_help='class names, or a file of them (default: the '
        '20 DIOR classes)')


if __name__ == '__main__':
    main()
