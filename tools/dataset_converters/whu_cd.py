"""Prepare WHU-CD for ``configs/cd/lemevit_*_bit_whu-cd.py``.

SOURCE: the download of WHU-CD as cut into 256x256 tiles by BIT (``A/``,
``B/``, ``label/``, ``list/{train,val,test}.txt``),
in folders or zips, at any depth, names matched regardless of case and
separators. The output has the same layout (links, or copies with
``--copy``). A pair without its other date or label, of different
sizes, or with a label that is not binary (0/255 or 0/1) is listed as
``file: reason`` and left out. Example::

    python tools/dataset_converters/whu_cd.py /downloads/WHU-CD data/WHU-CD-256
"""
from lemevit_mm.cd.benchmark_conversion import converter_main


def main(argv=None) -> None:
    converter_main('whu-cd', __doc__, argv)


if __name__ == '__main__':
    main()
