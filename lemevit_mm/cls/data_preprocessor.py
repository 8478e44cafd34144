"""mmpretrain's data preprocessor with the N-band checks."""
from mmengine.registry import MODELS
from mmpretrain.models import ClsDataPreprocessor

from ..datasets.preprocessing import MultiBandPreprocessor


@MODELS.register_module()
class MultiBandClsDataPreprocessor(MultiBandPreprocessor,
                                   ClsDataPreprocessor):
    """:class:`mmpretrain.models.ClsDataPreprocessor` with the checks of
    :class:`~lemevit_mm.seg.MultiBandSegDataPreProcessor` (one mean/std
    per band, ``max_value``, no BGR swap of non-3-band inputs).

    mmpretrain's own class already normalises any number of bands; this
    one adds clear errors for a wrong band count and 16-bit data with
    8-bit statistics. Arguments as there, plus ``max_value`` (default
    255).
    """

    @property
    def swaps_channels(self) -> bool:
        return self.to_rgb
