"""mmseg's data preprocessor for any number of bands."""
from mmengine.registry import MODELS
from mmseg.models import SegDataPreProcessor

from ..datasets.preprocessing import MultiBandPreprocessor


@MODELS.register_module()
class MultiBandSegDataPreProcessor(MultiBandPreprocessor,
                                   SegDataPreProcessor):
    """:class:`mmseg.models.SegDataPreProcessor` with one mean/std per band
    for any number of bands (N-band rasters, the stacked dates of change
    detection), checked against every batch.

    An input whose band count differs from ``mean``/``std``, values above
    ``max_value`` (16-bit data with 8-bit statistics) or a BGR swap of a
    non-3-band input stop with an error naming the file, the config key
    and the numbers (see
    :class:`~lemevit_mm.models.data_preprocessors.MultiBandNormalizeMixin`).

    Args:
        mean (Sequence[float], optional): Per-band means, in the units of
            the input (e.g. raw uint16 values). Defaults to None.
        std (Sequence[float], optional): Per-band standard deviations.
            Defaults to None.
        max_value (float, optional): The largest input value ``mean``/
            ``std`` are meant for; larger inputs are an error. Defaults to
            255 (8-bit data); None turns the check off.
        **kwargs: :class:`SegDataPreProcessor` arguments (``size``,
            ``pad_val``, ``seg_pad_val``, ``bgr_to_rgb``, ...).
    """

    @property
    def swaps_channels(self) -> bool:
        # mmseg 1.2 names it `channel_conversion`; OneDL's mmseg 1.4,
        # built on MMEngine's ImgDataPreprocessor, `_channel_conversion`.
        names = ('channel_conversion', '_channel_conversion')
        return any(self.__dict__.get(name, False) for name in names)
