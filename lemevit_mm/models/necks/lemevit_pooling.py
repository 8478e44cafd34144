"""Global pooling of LeMeViT's two token streams, as the authors'
classifier does it."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class LeMeViTPooling(BaseModule):
    """Pool the last image-token map and the meta tokens into one vector.

    ``BatchNorm2d`` then the spatial mean of the map, plus ``LayerNorm``
    then the mean of the meta tokens. It expects the backbone to run with
    ``out_meta_tokens=True``, whose output ends with ``(..., map, meta)``.

    Args:
        in_channels (int): Width of the last stage (C4).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self, in_channels: int,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.norm_x = nn.BatchNorm2d(in_channels)
        self.norm_meta = nn.LayerNorm(in_channels)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor]:
        if len(inputs) < 2 or inputs[-1].dim() != 3:
            raise ValueError(
                'LeMeViTPooling needs (..., map, meta_tokens) from a LeMeViT '
                'backbone built with out_meta_tokens=True.')
        x, meta = inputs[-2], inputs[-1]
        if x.shape[1] != self.in_channels or \
                meta.shape[-1] != self.in_channels:
            raise ValueError(
                f'LeMeViTPooling was built for {self.in_channels} channels, '
                f'got a map of {x.shape[1]} and meta tokens of '
                f'{meta.shape[-1]}.')
        pooled = self.norm_x(x).mean(dim=(2, 3)) + \
            self.norm_meta(meta).mean(dim=1)
        return (pooled, )
