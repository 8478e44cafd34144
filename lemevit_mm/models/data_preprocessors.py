"""Per-band normalisation for N-band data preprocessors, with checks.

OpenMMLab's data preprocessors normalise with one mean/std per channel but
either refuse more than 3 values (MMEngine's ``ImgDataPreprocessor``, and
with it mmdet's ``DetDataPreprocessor``) or broadcast whatever they are
given (mmseg, mmpretrain), which turns a forgotten band into a shape error
deep in the model, and 16-bit data with 8-bit statistics into a model that
trains on inputs of a few hundred sigmas without a word.
:class:`MultiBandNormalizeMixin` is the one implementation of per-band
normalisation behind the task preprocessors
(``MultiBandSegDataPreProcessor``, ``MultiBandDetDataPreprocessor``,
``MultiBandClsDataPreprocessor``): any number of bands, and clear errors
naming the config key, the file and the numbers when

- ``mean`` and ``std`` do not have one value per input band;
- an input holds values above ``max_value``, the largest value the
  normalisation is meant for (255 by default, the 8-bit statistics every
  OpenMMLab config uses; set it to the data's range, e.g. 65535 or 10000
  for uint16 rasters, together with their mean/std, which
  ``tools/analysis_tools/band_stats.py`` computes);
- a BGR/RGB swap is asked for an input that does not have 3 bands.
"""
from typing import List, Optional, Sequence

import torch
from torch import Tensor

# Input types whose values cannot exceed an 8-bit range.
_EIGHT_BIT = (torch.uint8, torch.int8, torch.bool)


def _peak(image: Tensor) -> float:
    """The largest value of ``image`` (any dtype, uint16 included)."""
    if image.dtype in (torch.uint16, torch.uint32):
        image = image.to(torch.int64)
    return float(image.max())


class MultiBandNormalizeMixin:
    """Per-band ``mean``/``std`` and input checks for a data preprocessor.

    A subclass of an OpenMMLab preprocessor calls its parent's
    ``__init__`` without ``mean``/``std``, then
    :meth:`init_band_normalization`, and calls :meth:`check_bands` at the
    start of ``forward``. The parent's normalisation then uses the
    ``mean``/``std`` buffers registered here.
    """

    #: The config key of this preprocessor, for error messages.
    config_key = 'model.data_preprocessor'

    def init_band_normalization(self, mean: Optional[Sequence[float]],
                                std: Optional[Sequence[float]],
                                max_value: Optional[float]) -> None:
        """Register the ``mean``/``std`` buffers (``(C, 1, 1)``) and keep
        ``max_value``."""
        key = self.config_key
        if (mean is None) != (std is None):
            raise ValueError(f'{key}: give both mean and std (one value per '
                             'band), or neither.')
        if max_value is not None and max_value <= 0:
            raise ValueError(f'{key}.max_value must be positive, got '
                             f'{max_value}.')
        self.max_value = max_value
        self._enable_normalize = mean is not None
        if mean is None:
            return
        mean, std = list(mean), list(std)
        if len(mean) != len(std) or not mean:
            raise ValueError(
                f'{key}.mean has {len(mean)} values and {key}.std has '
                f'{len(std)}; give one value per input band to each.')
        if min(std) <= 0:
            raise ValueError(f'{key}.std must be positive, got {std}.')
        self.register_buffer(
            'mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1),
            False)
        self.register_buffer(
            'std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1),
            False)

    @property
    def swaps_channels(self) -> bool:
        """Whether the preprocessor swaps BGR and RGB (subclasses say)."""
        return False

    @staticmethod
    def _files(sample) -> str:
        if sample is None:
            return 'an input'
        meta = getattr(sample, 'metainfo', sample)
        paths = [meta.get(key) for key in ('img_path', 'img_path2')]
        paths = [p for p in paths if p]
        return ' + '.join(map(str, paths)) or 'an input'

    def check_bands(self, data: dict) -> None:
        """Check the band count and value range of the raw batch ``data``
        (``inputs``: a list of ``(C, H, W)`` tensors or a ``(B, C, H, W)``
        tensor; ``data_samples`` name the files)."""
        inputs = data['inputs']
        samples: List = list(data.get('data_samples') or [])
        key = self.config_key
        for index, image in enumerate(inputs):
            sample = samples[index] if index < len(samples) else None
            channels = image.shape[0] if image.dim() == 3 else 1
            if self._enable_normalize and \
                    self.mean.shape[0] != channels:
                raise ValueError(
                    f'{self._files(sample)} has {channels} band(s) but '
                    f'{key}.mean and .std have {self.mean.shape[0]} values '
                    f'(one per band); make them agree (the pipeline\'s '
                    f'bands=..., {key}.mean/std and '
                    'model.backbone.in_channels).')
            if self.swaps_channels and channels != 3:
                raise ValueError(
                    f'{key}: bgr_to_rgb/rgb_to_bgr swap 3-band images, '
                    f'but {self._files(sample)} has {channels} bands; set '
                    f'{key}.bgr_to_rgb=False (LoadMultiBandImageFromFile '
                    'gives the bands in file order).')
            if self.max_value is not None and \
                    image.dtype not in _EIGHT_BIT:
                peak = _peak(image)
                if peak > self.max_value:
                    raise ValueError(
                        f'{self._files(sample)} holds values up to '
                        f'{peak:g} ({image.dtype}) but {key}.max_value is '
                        f'{self.max_value:g}: its mean/std are for '
                        f'{"8-bit" if self.max_value == 255 else "smaller"}'
                        ' data. For 16-bit rasters set '
                        f'{key}.max_value (e.g. 65535) and per-band mean/'
                        'std in the raster\'s units from '
                        'tools/analysis_tools/band_stats.py.')
