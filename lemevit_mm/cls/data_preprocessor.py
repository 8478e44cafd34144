"""mmpretrain's data preprocessor with the N-band checks."""
from typing import Optional, Sequence

from mmengine.registry import MODELS
from mmpretrain.models import ClsDataPreprocessor

from ..models.data_preprocessors import MultiBandNormalizeMixin


@MODELS.register_module()
class MultiBandClsDataPreprocessor(MultiBandNormalizeMixin,
                                   ClsDataPreprocessor):
    """:class:`mmpretrain.models.ClsDataPreprocessor` with the checks of
    :class:`~lemevit_mm.seg.MultiBandSegDataPreProcessor` (one mean/std
    per band, ``max_value``, no BGR swap of non-3-band inputs).

    mmpretrain's own class already normalises any number of bands; this
    one adds clear errors for a wrong band count and 16-bit data with
    8-bit statistics. Arguments as there, plus ``max_value`` (default
    255).
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
        return self.to_rgb

    def forward(self, data: dict, training: bool = False) -> dict:
        self.check_bands(data)
        return super().forward(data, training)
