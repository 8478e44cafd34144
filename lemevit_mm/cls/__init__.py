"""Task parts: cls (image classification and scene recognition)."""
from .. import engine  # noqa: F401  (registers hooks and file backends)
from .classifier import LeMeViTClassifier
from .hooks import LeMeViTEMAHook
from .official import convert_official_classifier, infer_arch

__all__ = [
    'LeMeViTClassifier', 'LeMeViTEMAHook', 'convert_official_classifier',
    'infer_arch'
]
