"""Task parts: seg (UperNet + LeMeViT on ISPRS Potsdam, mmsegmentation)."""
from .benchmark_datasets import (CheckediSAIDDataset, CheckedLoveDADataset,
                                 ClassMapSubmission)
from .data_preprocessor import MultiBandSegDataPreProcessor
from .metrics import OverallAccuracyF1Metric
from .potsdam_dataset import CheckedPotsdamDataset, CheckedVaihingenDataset

__all__ = [
    'CheckediSAIDDataset', 'CheckedLoveDADataset', 'ClassMapSubmission',
    'CheckedPotsdamDataset', 'CheckedVaihingenDataset',
    'MultiBandSegDataPreProcessor',
    'OverallAccuracyF1Metric'
]
