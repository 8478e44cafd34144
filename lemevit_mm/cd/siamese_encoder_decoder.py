"""A Siamese encoder-decoder for bi-temporal change detection."""
from typing import List, Tuple

import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class SiameseEncoderDecoder(EncoderDecoder):
    """mmseg's :class:`EncoderDecoder` with one backbone (and neck) shared
    by two dates.

    The input holds both dates stacked on the channel axis (date A first,
    as ``ConcatCDInput`` builds it), so mmseg's whole-image and
    sliding-window inference crop both dates together. Each date passes
    the backbone separately (so BatchNorm sees one date per call, as in
    the authors' code); every returned feature level holds date A in the
    first half of the batch and date B in the second half, which is what
    the change heads (e.g. :class:`BITHead`) expect.

    Args:
        image_channels (int): Channels of one date. Defaults to 3.
        **kwargs: :class:`EncoderDecoder` arguments.
    """

    def __init__(self, image_channels: int = 3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.image_channels = image_channels

    def split_dates(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """Split (B, 2C, H, W) inputs into the two (B, C, H, W) dates."""
        if inputs.dim() != 4 or inputs.shape[1] != 2 * self.image_channels:
            raise ValueError(
                'SiameseEncoderDecoder expects both dates stacked on the '
                f'channel axis: (B, {2 * self.image_channels}, H, W), got '
                f'{tuple(inputs.shape)}. Put ConcatCDInput in the pipeline '
                'and give the data preprocessor one mean/std per channel '
                'of both dates.')
        return inputs[:, :self.image_channels], inputs[:, self.image_channels:]

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """Features of both dates, date A then date B on the batch axis."""
        image_a, image_b = self.split_dates(inputs)
        # One date at a time: batch norms see the statistics of one date.
        feats_a = super().extract_feat(image_a)
        feats_b = super().extract_feat(image_b)
        return [torch.cat(pair) for pair in zip(feats_a, feats_b)]
