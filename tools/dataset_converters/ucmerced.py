"""Prepare UC Merced for ``configs/cls/lemevit_*_ucmerced-tr80.py``.

UC Merced Land Use: 21 classes of 100 256x256 TIFF images, downloaded as
``UCMerced_LandUse.zip`` (``UCMerced_LandUse/Images/<class>/*.tif``); the
zip or its folder is read, folder names matched regardless of case and
separators. Writes ``OUT/images/<class>/`` (links, or copies with
``--copy``), ``OUT/meta/classes.txt`` and the seeded, reproducible split
lists of the standard 80% training share, ``OUT/meta/train_80.txt`` and
``OUT/meta/test_80.txt``. Example::

    python tools/dataset_converters/ucmerced.py \
        /downloads/UCMerced_LandUse.zip data/ucmerced
"""
from lemevit_mm.cls.scene_converter_cli import main

if __name__ == '__main__':
    main('ucmerced', __doc__.split('\n')[0])
