"""Task parts: oriented object detection (mmrotate)."""
from .data_preprocessor import MultiBandDetDataPreprocessor
from .datasets import CheckedDOTADataset
from .fair1m import FAIR1MSubmissionMetric
from .metrics import DOTAClassAPMetric, RotatedVOCMetric
from .necks import LeMeViTFPN
from .xml_datasets import (CheckedDIORDataset, CheckedDOTAv2Dataset,
                           CheckedDOTAv15Dataset, CheckedFAIR1MDataset,
                           CheckedHRSCDataset)

__all__ = [
    'CheckedDIORDataset', 'CheckedDOTADataset', 'CheckedDOTAv15Dataset',
    'CheckedDOTAv2Dataset', 'CheckedFAIR1MDataset', 'CheckedHRSCDataset',
    'DOTAClassAPMetric', 'FAIR1MSubmissionMetric',
    'LeMeViTFPN', 'MultiBandDetDataPreprocessor', 'RotatedVOCMetric'
]
