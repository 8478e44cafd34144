"""Loading transforms for N-band and 16-bit rasters, for every task.

They read through :mod:`lemevit_mm.raster` (rasterio), so GeoTIFF, TIFF,
PNG, JPEG and every other format GDAL reads work, with any number of
bands and their own data type (uint8, uint16, int16, float32, ...). Bands
come in file order (a RGB file gives R, G, B: set ``bgr_to_rgb=False`` in
the data preprocessor) and are selected 1-based, as in GDAL.

They are registered in MMEngine's root ``TRANSFORMS`` registry, so the
pipelines of mmseg, mmdet, mmrotate and mmpretrain configs find them, and
import neither of those packages.

Nodata: where the raster marks pixels as invalid (a nodata value, an alpha
band or an internal mask, GDAL's dataset mask), the loaders set their
image values to ``nodata_fill`` and keep the mask as ``results
['valid_mask']``; :class:`IgnoreNodataLabels`, placed right after the
label loading, then gives those pixels the ``ignore_index`` label, which
mmseg's losses and metrics skip, as for any unlabelled pixel.
"""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS

from ..raster import RasterError, RasterSource, check_same_grid


def parse_bands(bands: Optional[Sequence[int]],
                owner: str) -> Optional[Tuple[int, ...]]:
    """Check a 1-based band selection of a config.

    Args:
        bands (Sequence[int], optional): Band indices, 1-based (GDAL).
        owner (str): What the selection belongs to, for the error message.

    Returns:
        tuple[int] | None: The selection (None: every band).
    """
    if bands is None:
        return None
    if isinstance(bands, int):
        bands = (bands, )
    bands = tuple(bands)
    if not bands or not all(
            isinstance(b, (int, np.integer)) and not isinstance(b, bool)
            and b >= 1 for b in bands):
        raise ValueError(
            f'{owner}: bands must be 1-based band indices (GDAL style, '
            f'band 1 is the first), got bands={bands}.')
    return tuple(int(b) for b in bands)


@TRANSFORMS.register_module()
class LoadMultiBandImageFromFile(BaseTransform):
    """Load an N-band raster of any data type, with a band selection.

    Required keys: ``img_path``.
    Added keys: ``img`` ``(H, W, C)`` in the file's data type (or float32),
    ``img_shape``, ``ori_shape``, and ``valid_mask`` ``(H, W)`` bool (True
    where the pixel holds data) when the raster has invalid pixels.

    Args:
        bands (Sequence[int], optional): 1-based band indices to read, in
            this order, e.g. ``(1, 2, 3, 4)``; a band the file lacks is an
            error naming the file. Defaults to None: every band.
        to_float32 (bool): Convert the image to float32. Defaults to False
            (the data preprocessor converts; uint16 stays compact).
        nodata_fill (float, optional): Value given to the pixels the raster
            marks as nodata. Defaults to 0. None keeps the stored values.
    """

    def __init__(self,
                 bands: Optional[Sequence[int]] = None,
                 to_float32: bool = False,
                 nodata_fill: Optional[float] = 0) -> None:
        self.bands = parse_bands(bands, type(self).__name__)
        self.to_float32 = to_float32
        self.nodata_fill = nodata_fill

    def _open(self, path: str) -> RasterSource:
        try:
            return RasterSource(path, self.bands)
        except RasterError as error:
            if self.bands is None or 'out of range' not in str(error):
                raise
            raise RasterError(
                f'{error} Asked by {type(self).__name__}(bands='
                f'{self.bands}) in the pipeline.') from None

    def _read(self, source: RasterSource
              ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """The ``(H, W, C)`` image and its valid mask (None: all valid)."""
        image = np.ascontiguousarray(source.read().transpose(1, 2, 0))
        valid = None
        if source.has_mask:
            valid = source.valid_mask()
            if valid.all():
                valid = None
        if self.to_float32:
            image = image.astype(np.float32)
        return image, valid

    def _fill_nodata(self, image: np.ndarray,
                     valid: Optional[np.ndarray]) -> np.ndarray:
        if valid is not None and self.nodata_fill is not None:
            image[~valid] = self.nodata_fill
        return image

    def _store(self, results: dict, image: np.ndarray,
               valid: Optional[np.ndarray]) -> dict:
        results['img'] = self._fill_nodata(image, valid)
        results['img_shape'] = image.shape[:2]
        results['ori_shape'] = image.shape[:2]
        if valid is not None:
            results['valid_mask'] = valid
        else:
            results.pop('valid_mask', None)
        return results

    def transform(self, results: dict) -> dict:
        with self._open(results['img_path']) as source:
            image, valid = self._read(source)
        return self._store(results, image, valid)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(bands={self.bands}, to_float32='
                f'{self.to_float32}, nodata_fill={self.nodata_fill})')


@TRANSFORMS.register_module()
class LoadMultiBandImagePairFromFile(LoadMultiBandImageFromFile):
    """Load the two dates of a change-detection sample, N bands each.

    Both dates get the same band selection and must be on the same pixel
    grid (size, CRS, transform, band count), else an error names both
    files. A pixel is valid only where both dates hold data.

    Required keys: ``img_path`` (date A), ``img_path2`` (date B).
    Added keys: ``img``, ``img2``, ``img_shape``, ``ori_shape`` and, when
    some pixels are nodata, ``valid_mask``. ``ConcatCDInput`` then stacks
    the dates to ``2 * C`` channels (date A first).

    Args:
        **kwargs: :class:`LoadMultiBandImageFromFile` arguments.
    """

    def transform(self, results: dict) -> dict:
        with self._open(results['img_path']) as source_a, \
                self._open(results['img_path2']) as source_b:
            check_same_grid(source_a, source_b)
            image_a, valid_a = self._read(source_a)
            image_b, valid_b = self._read(source_b)
        if valid_a is None:
            valid = valid_b
        elif valid_b is None:
            valid = valid_a
        else:
            valid = valid_a & valid_b
        results['img2'] = self._fill_nodata(image_b, valid)
        return self._store(results, image_a, valid)


@TRANSFORMS.register_module()
class IgnoreNodataLabels(BaseTransform):
    """Give the pixels without image data the ``ignore_index`` label.

    Place it right after the label loading (mmseg's ``LoadAnnotations`` or
    ``LoadChangeAnnotation``), before any geometric transform. It reads the
    ``valid_mask`` that :class:`LoadMultiBandImageFromFile` (or the pair
    loader) leaves where the raster has nodata, sets ``gt_seg_map`` to
    ``ignore_index`` there and drops the mask. mmseg's losses and metrics
    skip those pixels: a model is neither trained nor scored where the
    sensor saw nothing. Images without nodata pass unchanged.

    Required keys: ``gt_seg_map``; optional: ``valid_mask``.
    Modified keys: ``gt_seg_map``. Removed keys: ``valid_mask``.

    Args:
        ignore_index (int): The label of nodata pixels. Defaults to 255
            (mmseg's ignore index).
    """

    def __init__(self, ignore_index: int = 255) -> None:
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        if 'gt_seg_map' not in results:
            raise KeyError(
                f'{type(self).__name__} needs the label map: put it after '
                'LoadAnnotations (or LoadChangeAnnotation) in the pipeline '
                f'(sample {results.get("img_path")}).')
        valid = results.pop('valid_mask', None)
        if valid is None:
            return results
        label = results['gt_seg_map']
        if label.shape[:2] != valid.shape:
            raise ValueError(
                f'{results.get("seg_map_path")}: the label map is '
                f'{label.shape[1]}x{label.shape[0]} but the nodata mask of '
                f'{results.get("img_path")} is {valid.shape[1]}x'
                f'{valid.shape[0]}; put {type(self).__name__} right after '
                'the label loading, before any resize or crop.')
        label = label.copy()
        label[~valid] = self.ignore_index
        results['gt_seg_map'] = label
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ignore_index={self.ignore_index})'
