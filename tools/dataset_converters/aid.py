"""Prepare AID for ``configs/cls/lemevit_*_aid-tr{50,20}.py``.

AID: 30 classes, 10,000 600x600 JPEG images in ``AID/<Class>/*.jpg`` (the
folder or a zip of it; names matched regardless of case and separators).
Writes ``OUT/images/<Class>/`` (links, or copies with ``--copy``),
``OUT/meta/classes.txt`` and the seeded, reproducible split lists of the
standard 50% and 20% training shares, ``OUT/meta/{train,test}_50.txt``
and ``..._20.txt``. Example::

    python tools/dataset_converters/aid.py /downloads/AID data/aid
"""
from lemevit_mm.cls.scene_converter_cli import main

if __name__ == '__main__':
    main('aid', __doc__.split('\n')[0])
