"""Write a small synthetic change-detection dataset (CDD or LEVIR-CD
layout) for smoke runs; see :mod:`lemevit_mm.testing.cd`.

Example::

    python tools/dataset_converters/synthetic_cd.py data/CDD --train 32
"""
from lemevit_mm.testing.cd import main

if __name__ == '__main__':
    main()
