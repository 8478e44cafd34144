"""Task parts: seg (UperNet + LeMeViT on ISPRS Potsdam, mmsegmentation)."""
from .metrics import OverallAccuracyF1Metric
from .potsdam_dataset import CheckedPotsdamDataset

__all__ = ['CheckedPotsdamDataset', 'OverallAccuracyF1Metric']
