"""mmdet's data preprocessor for any number of bands."""
from typing import Optional, Sequence

from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmengine.registry import MODELS

from ..models.data_preprocessors import MultiBandNormalizeMixin


@MODELS.register_module()
class MultiBandDetDataPreprocessor(MultiBandNormalizeMixin,
                                   DetDataPreprocessor):
    """:class:`mmdet.models.DetDataPreprocessor` (also mmrotate's) for any
    number of bands: MMEngine's parent class accepts only 1 or 3 mean
    values and swaps BGR by indexing 3 channels.

    Same checks and arguments as
    :class:`~lemevit_mm.seg.MultiBandSegDataPreProcessor` (``mean``,
    ``std``, ``max_value``); the rest are :class:`DetDataPreprocessor`'s
    (``pad_size_divisor``, ``boxtype2tensor``, ...).
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 max_value: Optional[float] = 255,
                 **kwargs) -> None:
        super().__init__(mean=None, std=None, **kwargs)
        self.init_band_normalization(mean, std, max_value)

    @property
    def swaps_channels(self) -> bool:
        return self._channel_conversion

    def forward(self, data: dict, training: bool = False) -> dict:
        self.check_bands(data)
        return super().forward(data, training)
