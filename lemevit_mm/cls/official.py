"""The authors' LeMeViT classifier checkpoints, in this project's names.

Kept for old imports: the layout and its conversion live in
:mod:`lemevit_mm.models.official_checkpoint`.
"""
from ..models.official_checkpoint import (CONVERTER, OFFICIAL_HEAD_MAP,
                                          WRAPPER_KEYS,
                                          convert_official_classifier,
                                          infer_arch, looks_official,
                                          nested_official)

__all__ = [
    'CONVERTER', 'OFFICIAL_HEAD_MAP', 'WRAPPER_KEYS',
    'convert_official_classifier', 'infer_arch', 'looks_official',
    'nested_official'
]
