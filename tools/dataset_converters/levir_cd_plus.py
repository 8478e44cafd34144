"""Prepare LEVIR-CD+ for ``configs/cd/lemevit_*_bit_levir-cd-plus.py``.

SOURCE: the download of LEVIR-CD+ (``{train,test}/{A,B,label}``,
1024x1024 PNG, no val split),
in folders or zips, at any depth, names matched regardless of case and
separators. The output has the same layout (links, or copies with
``--copy``). A pair without its other date or label, of different
sizes, or with a label that is not binary (0/255 or 0/1) is listed as
``file: reason`` and left out. Example::

    python tools/dataset_converters/levir_cd_plus.py \
        /downloads/LEVIR-CD+ data/LEVIR-CD+
"""
from lemevit_mm.cd.benchmark_conversion import converter_main


def main(argv=None) -> None:
    converter_main('levir-cd-plus', __doc__, argv)


if __name__ == '__main__':
    main()
