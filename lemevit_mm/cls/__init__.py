"""Task parts: cls (image classification and scene recognition)."""
from .classifier import LeMeViTClassifier
from .data_preprocessor import MultiBandClsDataPreprocessor
from .hooks import LeMeViTEMAHook
from .official import convert_official_classifier, infer_arch

__all__ = [
    'LeMeViTClassifier', 'LeMeViTEMAHook', 'MultiBandClsDataPreprocessor',
    'convert_official_classifier', 'infer_arch'
]
