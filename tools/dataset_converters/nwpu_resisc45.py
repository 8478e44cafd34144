"""Prepare NWPU-RESISC45 for ``configs/cls/lemevit_*_nwpu-resisc45-tr*.py``.

NWPU-RESISC45: 45 classes of 700 256x256 JPEG images in
``NWPU-RESISC45/<class>/*.jpg`` (the download is a RAR archive: extract
it first; a zip of the folder is read too; names matched regardless of
case and separators). Writes ``OUT/images/<class>/`` (links, or copies
with ``--copy``), ``OUT/meta/classes.txt`` and the seeded, reproducible
split lists of the standard 20% and 10% training shares,
``OUT/meta/{train,test}_20.txt`` and ``..._10.txt``. Example::

    python tools/dataset_converters/nwpu_resisc45.py \
        /downloads/NWPU-RESISC45 data/nwpu-resisc45
"""
from lemevit_mm.cls.scene_converter_cli import main

if __name__ == '__main__':
    main('nwpu-resisc45', __doc__.split('\n')[0])
