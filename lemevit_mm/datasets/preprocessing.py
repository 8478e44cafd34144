"""The shared part of the N-band data preprocessors of the tasks.

``MultiBandClsDataPreprocessor``, ``MultiBandDetDataPreprocessor`` and
``MultiBandSegDataPreProcessor`` are each
``(MultiBandPreprocessor, <the OpenMMLab task preprocessor>)``: this class
gives them their ``__init__`` and ``forward``, the normalisation and its
checks come from
:class:`~lemevit_mm.models.data_preprocessors.MultiBandNormalizeMixin`;
a task class only says whether its parent swaps BGR and RGB
(``swaps_channels``).
"""
from typing import Optional, Sequence

from ..models.data_preprocessors import MultiBandNormalizeMixin

__all__ = ['MultiBandPreprocessor']


class MultiBandPreprocessor(MultiBandNormalizeMixin):
    """``__init__`` and ``forward`` of an N-band task preprocessor.

    The OpenMMLab parent (next in the method resolution order) is built
    without ``mean``/``std``; they become the per-band buffers of
    :meth:`init_band_normalization`, which the parent's normalisation
    uses. Every batch is checked (:meth:`check_bands`) before the parent's
    ``forward``.

    Args:
        mean (Sequence[float], optional): Per-band means, in the units of
            the input. Defaults to None.
        std (Sequence[float], optional): Per-band standard deviations.
            Defaults to None.
        max_value (float, optional): The largest input value ``mean``/
            ``std`` are meant for; larger inputs are an error. Defaults to
            255 (8-bit data); None turns the check off.
        **kwargs: The parent preprocessor's other arguments.
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 max_value: Optional[float] = 255,
                 **kwargs) -> None:
        super().__init__(mean=None, std=None, **kwargs)
        self.init_band_normalization(mean, std, max_value)

    def forward(self, data: dict, training: bool = False) -> dict:
        self.check_bands(data)
        return super().forward(data, training)
