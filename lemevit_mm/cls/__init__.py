"""Task parts: cls (image classification and scene recognition)."""
from ..models.official_checkpoint import (convert_official_classifier,
                                          infer_arch)
from .classifier import LeMeViTClassifier
from .data_preprocessor import MultiBandClsDataPreprocessor
from .hooks import LeMeViTEMAHook

__all__ = [
    'LeMeViTClassifier', 'LeMeViTEMAHook', 'MultiBandClsDataPreprocessor',
    'convert_official_classifier', 'infer_arch'
]
