"""Data transforms for bi-temporal change detection.

The pipelines follow mmseg's change-detection convention: the two dates are
loaded into ``img`` and ``img2``, then ``ConcatCDInput`` stacks them on the
channel axis (date A first). Every geometric transform of mmseg placed after
it (crop, flip, rotation, resize) therefore moves both dates and the label
together; :class:`BiTemporalPhotoMetricDistortion` then changes the colours
of each date independently.
"""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations, PhotoMetricDistortion
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImagePairFromFile(LoadImageFromFile):
    """Load the two dates of a change-detection sample.

    Required keys: ``img_path`` (date A), ``img_path2`` (date B).
    Added keys: ``img``, ``img2``, ``img_shape``, ``ori_shape``.

    Args:
        channel_order (str): ``'rgb'`` or ``'bgr'`` for colour images.
            Defaults to 'rgb' (mmseg's preprocessor cannot swap the channels
            of a stacked 6-channel input).
        **kwargs: :class:`mmcv.transforms.LoadImageFromFile` arguments.
    """

    def __init__(self, channel_order: str = 'rgb', **kwargs) -> None:
        super().__init__(**kwargs)
        if channel_order not in ('rgb', 'bgr'):
            raise ValueError(
                f"channel_order must be 'rgb' or 'bgr', got {channel_order}")
        self.channel_order = channel_order

    def _load(self, path: str) -> Optional[np.ndarray]:
        loaded = super().transform(dict(img_path=path))
        if loaded is None:
            return None
        img = loaded['img']
        if self.channel_order == 'rgb' and img.ndim == 3 and \
                img.shape[2] == 3:
            img = mmcv.bgr2rgb(img)
        return img

    def transform(self, results: dict) -> Optional[dict]:
        img_a = self._load(results['img_path'])
        img_b = self._load(results['img_path2'])
        if img_a is None or img_b is None:
            return None
        if img_a.shape != img_b.shape:
            raise ValueError(
                f"The dates differ in shape: {results['img_path']} is "
                f"{img_a.shape}, {results['img_path2']} is {img_b.shape}.")
        results['img'] = img_a
        results['img2'] = img_b
        results['img_shape'] = img_a.shape[:2]
        results['ori_shape'] = img_a.shape[:2]
        return results

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] +
                f", channel_order='{self.channel_order}')")


@TRANSFORMS.register_module()
class LoadChangeAnnotation(LoadAnnotations):
    """Load a change mask and binarise it: pixels ``>= threshold`` are
    "changed" (1), the rest "unchanged" (0).

    CDD stores its masks as JPEG (0/255 plus compression noise), LEVIR-CD
    as PNG (0/255); both need the threshold. Colour masks use their first
    channel.

    Args:
        threshold (int): Grey level from which a pixel is changed. Defaults
            to 128.
        **kwargs: :class:`mmseg.datasets.transforms.LoadAnnotations`
            arguments.
    """

    def __init__(self, threshold: int = 128, **kwargs) -> None:
        super().__init__(**kwargs)
        self.threshold = threshold

    def _load_seg_map(self, results: dict) -> None:
        super()._load_seg_map(results)
        mask = results['gt_seg_map']
        if mask.ndim == 3:
            mask = mask[..., 0]
        if 'img_shape' in results and \
                mask.shape[:2] != tuple(results['img_shape'][:2]):
            raise ValueError(
                f"Label {results['seg_map_path']} is {mask.shape[:2]} but "
                f"image {results.get('img_path')} is "
                f"{tuple(results['img_shape'][:2])}.")
        results['gt_seg_map'] = (mask >= self.threshold).astype(np.uint8)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', threshold={self.threshold})'


@TRANSFORMS.register_module()
class BiTemporalPhotoMetricDistortion(PhotoMetricDistortion):
    """mmseg's photometric distortion, drawn independently for each date of
    a channel-stacked pair (after ``ConcatCDInput``).

    Args:
        image_channels (int): Channels of one date. Defaults to 3.
        **kwargs: :class:`mmseg.datasets.transforms.PhotoMetricDistortion`
            arguments.
    """

    def __init__(self, image_channels: int = 3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.image_channels = image_channels

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 2 * self.image_channels:
            raise ValueError(
                f'{type(self).__name__} expects the two dates stacked on '
                f'the channel axis ({2 * self.image_channels} channels, put '
                f'it after ConcatCDInput), got an image of shape '
                f'{img.shape}.')
        dates = [
            super(BiTemporalPhotoMetricDistortion, self).transform(
                dict(img=img[..., sl]))['img']
            for sl in (slice(0, self.image_channels),
                       slice(self.image_channels, None))
        ]
        results['img'] = np.concatenate(dates, axis=2)
        return results

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] +
                f', image_channels={self.image_channels})')
