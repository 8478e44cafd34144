"""Reference models for tests and checks: the authors' LeMeViT
classifier without mmpretrain.

Used by the seeded reference (:mod:`lemevit_mm.testing.seeded_reference`)
and by ``tools/gpu_check.py``, which runs with only torch, mmengine and
mmcv.
"""
import torch.nn as nn
from torch import Tensor

from ..models.lemevit_classifier import lemevit_backbone, lemevit_classifier
from ..models.necks import LeMeViTPooling

__all__ = ['PlainClassifier']


class PlainClassifier(nn.Module):
    """LeMeViT -> :class:`LeMeViTPooling` -> Linear, the authors'
    classifier, without mmpretrain.

    Its parameter names and its ``forward`` are those of mmpretrain's
    ``ImageClassifier`` with a ``LinearClsHead`` in ``mode='tensor'``
    (what ``configs/cls`` build), so the same state dict loads into both
    and gives the same logits. For machines with only torch, mmengine and
    mmcv (``tools/gpu_check.py``).

    Args:
        arch (str): A LeMeViT arch.
        num_classes (int): Defaults to 1000.
        **kwargs: More arguments of
            :class:`~lemevit_mm.models.LeMeViT`.
    """

    def __init__(self, arch: str = 'tiny', num_classes: int = 1000,
                 **kwargs) -> None:
        super().__init__()
        cfg = lemevit_classifier(arch, num_classes, **kwargs)
        self.backbone = lemevit_backbone(arch, **kwargs)
        self.neck = LeMeViTPooling(cfg['neck']['in_channels'])
        self.head = nn.Module()
        self.head.fc = nn.Linear(cfg['head']['in_channels'], num_classes)

    def forward(self, images: Tensor) -> Tensor:
        pooled, = self.neck(self.backbone(images))
        return self.head.fc(pooled)
