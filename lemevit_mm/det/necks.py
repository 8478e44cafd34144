"""FPN whose input widths follow the LeMeViT variant."""
from typing import Tuple, Union

from mmdet.models.necks import FPN
from mmengine.registry import MODELS
from torch import Tensor

from ..models.backbones import LeMeViT


def lemevit_dense_channels(arch: Union[str, dict]) -> list:
    """Channels of the four dense maps (strides 4-32) of a LeMeViT arch."""
    return list(LeMeViT.parse_arch(arch)['embed_dims'][1:])


@MODELS.register_module()
class LeMeViTFPN(FPN):
    """mmdet's FPN with ``in_channels`` taken from a LeMeViT arch.

    Args:
        arch (str | dict): The LeMeViT arch of the backbone (``'tiny'``,
            ``'small'``, ``'base'``, their aliases, or a dict), as given to
            :class:`LeMeViT`. Defaults to 'tiny'.
        **kwargs: Other arguments of :class:`mmdet.models.necks.FPN`
            (``out_channels``, ``num_outs``, ...).
    """

    def __init__(self, arch: Union[str, dict] = 'tiny', **kwargs) -> None:
        if 'in_channels' in kwargs:
            raise TypeError('LeMeViTFPN takes its in_channels from `arch`; '
                            'do not pass in_channels.')
        super().__init__(in_channels=lemevit_dense_channels(arch), **kwargs)
        self.arch = arch

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
        """FPN's maps in the standard (contiguous NCHW) layout.

        LeMeViT hands over channels-last maps, so FPN's convolutions
        return channels-last maps too; mmcv's ``RoIAlignRotated`` (the RoI
        layer of Oriented R-CNN) reads its input's memory as contiguous
        NCHW and would sample the wrong values from them.
        """
        return tuple(out.contiguous() for out in super().forward(inputs))
