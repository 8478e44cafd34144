"""Task parts: seg (UperNet + LeMeViT on ISPRS Potsdam, mmsegmentation)."""
from .data_preprocessor import MultiBandSegDataPreProcessor
from .metrics import OverallAccuracyF1Metric
from .potsdam_dataset import CheckedPotsdamDataset, CheckedVaihingenDataset

__all__ = [
    'CheckedPotsdamDataset', 'CheckedVaihingenDataset',
    'MultiBandSegDataPreProcessor',
    'OverallAccuracyF1Metric'
]
