"""Task parts: change detection (bi-temporal, on mmsegmentation)."""
from .benchmark_datasets import S2LookingDataset, WHUCDDataset
from .bit_head import BITHead
from .datasets import CDDDataset, PairedLEVIRCDDataset
from .metric import ChangeDetectionMetric
from .siamese_encoder_decoder import SiameseEncoderDecoder
from .transforms import (BiTemporalPhotoMetricDistortion,
                         LoadChangeAnnotation, LoadImagePairFromFile)
from .visualizer import ChangeLocalVisualizer

__all__ = [
    'BITHead', 'CDDDataset', 'PairedLEVIRCDDataset', 'ChangeDetectionMetric',
    'SiameseEncoderDecoder', 'BiTemporalPhotoMetricDistortion',
    'LoadChangeAnnotation', 'LoadImagePairFromFile', 'ChangeLocalVisualizer',
    'S2LookingDataset', 'WHUCDDataset'
]
