"""Task parts: oriented object detection (mmrotate)."""
from .data_preprocessor import MultiBandDetDataPreprocessor
from .datasets import CheckedDOTADataset
from .metrics import DOTAClassAPMetric
from .necks import LeMeViTFPN

__all__ = [
    'CheckedDOTADataset', 'DOTAClassAPMetric', 'LeMeViTFPN',
    'MultiBandDetDataPreprocessor'
]
