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
from lemevit_mm.det.class_lists import FAIR1M_CLASSES, describe_classes
from lemevit_mm.det.fair1m import convert_fair1m
from lemevit_mm.det.xml_conversion import converter_main


def summary(out, report, classes) -> str:
    return (f'FAIR1M -> {out}: images {report.images}, objects '
            f'{report.objects}; {describe_classes(classes)}; '
            f'{len(report.problems)} invalid object(s) skipped.')


def main(argv=None) -> None:
    converter_main(
        convert_fair1m, FAIR1M_CLASSES, __doc__, summary, argv,
        source_help='FAIR1M download (folder or zip)',
        out_help='output root (DOTA layout)',
        copy_help='copy the images instead of linking them',
        classes_help='class names as in the XML files, or a file of '
        'them (default: the 37 FAIR1M-2.0 classes)')


if __name__ == '__main__':
    main()
