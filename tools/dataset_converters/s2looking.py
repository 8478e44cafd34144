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
from lemevit_mm.cd.benchmark_conversion import converter_main


def main(argv=None) -> None:
    converter_main('s2looking', __doc__, argv)


if __name__ == '__main__':
    main()
