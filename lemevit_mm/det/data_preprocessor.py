"""mmdet's data preprocessor for any number of bands."""
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmengine.registry import MODELS

from ..datasets.preprocessing import MultiBandPreprocessor


@MODELS.register_module()
class MultiBandDetDataPreprocessor(MultiBandPreprocessor,
                                   DetDataPreprocessor):
    """:class:`mmdet.models.DetDataPreprocessor` (also mmrotate's) for any
    number of bands: MMEngine's parent class accepts only 1 or 3 mean
    values and swaps BGR by indexing 3 channels.

    Same checks and arguments as
    :class:`~lemevit_mm.seg.MultiBandSegDataPreProcessor` (``mean``,
    ``std``, ``max_value``); the rest are :class:`DetDataPreprocessor`'s
    (``pad_size_divisor``, ``boxtype2tensor``, ...).
    """

    @property
    def swaps_channels(self) -> bool:
        return self._channel_conversion
