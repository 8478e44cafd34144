"""Reading and writing rasters (GeoTIFF, PNG, JPEG, ...) through rasterio.

The one raster reader of the project: scene-scale inference reads its
tiles with :class:`RasterSource`, the dataset transforms read whole images
with :func:`read_image`. Bands are 1-based, as in GDAL and rasterio.
Problems with a file (missing, unreadable, palette colours, a band that
does not exist, two dates on different grids) raise :class:`RasterError`
with the file's name in the message.

Outputs are GeoTIFFs written block by block by :class:`GeoTiffWriter`
(the one GeoTIFF writer of the project), under a temporary name that
replaces the final one only once the file is complete
(:mod:`lemevit_mm.io.atomic`). :class:`RasterGrid` describes the grid of
an output that is not the grid of an input (a coarser class map, a
generated sample).

This module imports numpy only; rasterio is imported when it is there
(and needed only once a raster is opened), torch never.

GDAL keeps the blocks it has read in a cache of 5% of the RAM by default,
so reading a whole scene would grow the process by up to that much; this
module lowers the cache to 128 MB (``GDAL_CACHEMAX``, unless it is set
already), which windowed reading in scan order does not need more of.
"""
import os
import os.path as osp
import warnings
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from . import atomic

try:
    import rasterio
    from rasterio.enums import ColorInterp, Resampling
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
    from rasterio.vrt import WarpedVRT
    from rasterio.windows import Window
except ImportError:  # only needed when a raster is opened
    rasterio = None

__all__ = [
    'RasterError', 'RasterSource', 'RasterGrid', 'GeoTiffWriter',
    'read_image', 'is_virtual_path', 'check_same_grid',
    'float16_supported', 'pixel_to_map', 'coarsened_transform'
]

os.environ.setdefault('GDAL_CACHEMAX', '128')  # MB; read once by GDAL

# A window: (row offset, column offset, height, width) in pixels.
PixelWindow = Tuple[int, int, int, int]


def is_virtual_path(path: str) -> bool:
    """Whether ``path`` names a file of one of GDAL's virtual file systems
    (``/vsizip/``, ``/vsicurl/``, ``/vsis3/``, ...) or a URL, which GDAL
    opens itself (no local file to check first)."""
    return str(path).startswith('/vsi') or '://' in str(path)


class RasterError(ValueError):
    """A raster that cannot be used as asked; the message names the file.
    """


def _require_rasterio() -> None:
    if rasterio is None:
        raise ImportError(
            'Reading rasters needs rasterio, which is not installed: '
            '`pip install rasterio` (or `make install`).')


def float16_supported() -> bool:
    """Whether this GDAL writes Float16 GeoTIFFs (GDAL >= 3.11)."""
    _require_rasterio()
    major, minor = (int(v) for v in rasterio.__gdal_version__.split('.')[:2])
    return (major, minor) >= (3, 11) and 'float16' in \
        rasterio.dtypes.dtype_rev


def pixel_to_map(transform, points: np.ndarray) -> np.ndarray:
    """Map coordinates of ``(..., 2)`` pixel ``(col, row)`` points.

    Written out rather than ``transform * point``, which affine >= 3
    deprecates and affine 2 (``transform @ point``) lacks.
    """
    a, b, c, d, e, f = tuple(transform)[:6]
    cols, rows = points[..., 0], points[..., 1]
    return np.stack([a * cols + b * rows + c, d * cols + e * rows + f], -1)


def coarsened_transform(transform, col_step: float, row_step: float):
    """The transform of a grid whose pixel spans ``col_step x row_step``
    pixels of ``transform``'s grid, from the same corner."""
    a, b, c, d, e, f = tuple(transform)[:6]
    return type(transform)(a * col_step, b * row_step, c,
                           d * col_step, e * row_step, f)


def _tiff_predictor(dtype: str) -> int:
    """The deflate predictor GDAL accepts for ``dtype``.

    Floating point (3) for float32/float64, horizontal differencing (2) for
    integers, none (1) for float16, which GDAL's float predictor refuses.
    """
    if dtype in ('float32', 'float64'):
        return 3
    return 1 if 'float' in dtype else 2


class RasterSource:
    """A raster opened for reading by windows, with a band selection.

    Args:
        path (str): A file GDAL reads (GeoTIFF, PNG, JPEG, ...).
        bands (Sequence[int], optional): 1-based band indices to read, in
            this order. Defaults to all bands.
        align_to (RasterSource, optional): Resample this raster onto the
            grid (CRS, transform, size) of ``align_to`` as it is read
            (bilinear; nearest for integer labels is not needed here).

    Raises:
        RasterError: The file is missing or unreadable, holds a palette
            (colour-indexed) image, or a band index is out of range.
    """

    def __init__(self,
                 path: str,
                 bands: Optional[Sequence[int]] = None,
                 align_to: Optional['RasterSource'] = None) -> None:
        _require_rasterio()
        self.path = str(path)
        if not is_virtual_path(self.path) and not osp.isfile(self.path):
            raise RasterError(f'{self.path}: no such file.')
        try:
            with warnings.catch_warnings():
                # a PNG or JPEG has no georeference: that is allowed
                warnings.simplefilter('ignore', NotGeoreferencedWarning)
                self._file = rasterio.open(self.path)
        except RasterioIOError as error:
            raise RasterError(
                f'{self.path}: not a raster GDAL can read ({error}).') \
                from None
        self._dataset = self._file
        try:
            self._check_bands(bands)
            if align_to is not None:
                self._dataset = WarpedVRT(
                    self._file, crs=align_to.crs,
                    transform=align_to.transform, width=align_to.width,
                    height=align_to.height, resampling=Resampling.bilinear)
        except BaseException:
            self._file.close()
            raise

    def _check_bands(self, bands: Optional[Sequence[int]]) -> None:
        count = self._file.count
        if ColorInterp.palette in self._file.colorinterp:
            raise RasterError(
                f'{self.path}: a palette (colour-indexed) image; the model '
                'needs the colour bands. Expand it first, e.g. '
                '`gdal_translate -expand rgb IN OUT.tif`.')
        if bands is None:
            bands = range(1, count + 1)
        bands = tuple(int(b) for b in bands)
        bad = [b for b in bands if not 1 <= b <= count]
        if bad or not bands:
            raise RasterError(
                f'{self.path}: band(s) {bad or list(bands)} out of range; '
                f'the raster has {count} band(s), numbered 1 to {count}.')
        self.bands = bands

    # -- properties of the (selected, aligned) raster -------------------
    @property
    def height(self) -> int:
        return self._dataset.height

    @property
    def width(self) -> int:
        return self._dataset.width

    @property
    def count(self) -> int:
        """Number of selected bands."""
        return len(self.bands)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self._file.dtypes[self.bands[0] - 1])

    @property
    def crs(self):
        return self._dataset.crs

    @property
    def transform(self):
        return self._dataset.transform

    @property
    def georeferenced(self) -> bool:
        """Whether the raster has a CRS or a non-identity transform."""
        return self.crs is not None or \
            not self.transform.is_identity

    @property
    def nodata(self) -> Optional[float]:
        return self._file.nodata

    @property
    def has_mask(self) -> bool:
        """Whether some pixels may be invalid (nodata, alpha or mask)."""
        from rasterio.enums import MaskFlags
        flags = [self._file.mask_flag_enums[b - 1] for b in self.bands]
        return any(MaskFlags.all_valid not in f for f in flags)

    def __repr__(self) -> str:
        return (f'RasterSource({self.path!r}, {self.width}x{self.height}, '
                f'bands={self.bands}, {self.dtype}, crs={self.crs})')

    # -- reading ---------------------------------------------------------
    def read(self, window: Optional[PixelWindow] = None) -> np.ndarray:
        """The selected bands in ``window`` (inside the raster), as a
        ``(C, h, w)`` array of the source dtype."""
        try:
            return self._dataset.read(
                self.bands, window=self._window(window))
        except RasterioIOError as error:
            raise RasterError(f'{self.path}: read failed ({error}).') \
                from None

    def valid_mask(self,
                   window: Optional[PixelWindow] = None) -> np.ndarray:
        """``(h, w)`` bool: True where a pixel holds data. A pixel is
        invalid when every selected band is masked there (GDAL's dataset
        mask: nodata value, alpha band or internal mask)."""
        if not self.has_mask:
            h, w = self._shape(window)
            return np.ones((h, w), dtype=bool)
        masks = self._dataset.read_masks(
            self.bands, window=self._window(window))
        return masks.any(axis=0)

    def _shape(self, window: Optional[PixelWindow]) -> Tuple[int, int]:
        if window is None:
            return self.height, self.width
        return window[2], window[3]

    @staticmethod
    def _window(window: Optional[PixelWindow]):
        if window is None:
            return None
        row, col, height, width = window
        return Window(col, row, width, height)

    # -- context manager -------------------------------------------------
    def close(self) -> None:
        if self._dataset is not self._file:
            self._dataset.close()
        self._file.close()

    def __enter__(self) -> 'RasterSource':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_image(path: str,
               bands: Optional[Sequence[int]] = None) -> np.ndarray:
    """A whole raster as an ``(H, W, C)`` array of its own dtype (band
    order as selected; RGB files come back in RGB order)."""
    with RasterSource(path, bands) as source:
        return np.ascontiguousarray(source.read().transpose(1, 2, 0))


def check_same_grid(a: RasterSource, b: RasterSource) -> None:
    """Raise a :class:`RasterError` naming what differs when two rasters
    (the two dates of a change pair) are not on the same pixel grid."""
    problems = []
    if (a.height, a.width) != (b.height, b.width):
        problems.append(f'size {a.width}x{a.height} vs '
                        f'{b.width}x{b.height}')
    if a.crs != b.crs:
        problems.append(f'CRS {a.crs} vs {b.crs}')
    if not a.transform.almost_equals(b.transform):
        problems.append(f'transform {tuple(a.transform)[:6]} vs '
                        f'{tuple(b.transform)[:6]}')
    if a.count != b.count:
        problems.append(f'{a.count} vs {b.count} bands')
    if problems:
        raise RasterError(
            f'{a.path} and {b.path} are not co-registered: '
            f'{"; ".join(problems)}. Resample date B onto date A '
            '(--align) or fix the inputs.')


class RasterGrid:
    """The georeference of a raster to write: size, CRS and transform (what
    :class:`GeoTiffWriter` takes from its ``like`` argument, which may
    also be a :class:`RasterSource`).

    Args:
        width (int): Columns.
        height (int): Rows.
        crs (optional): A CRS rasterio accepts (e.g. ``'EPSG:32632'``);
            None for none.
        transform (Affine, optional): Pixel to map coordinates; None for
            the identity (a raster without georeference).
    """

    def __init__(self, width: int, height: int, crs=None,
                 transform=None) -> None:
        self.width, self.height = int(width), int(height)
        self.crs = crs
        if transform is None:
            from affine import Affine
            transform = Affine.identity()
        self.transform = transform

    @property
    def georeferenced(self) -> bool:
        """Whether the grid has a CRS or a non-identity transform."""
        return self.crs is not None or not self.transform.is_identity

    @classmethod
    def coarsened(cls, like, col_step: int, row_step: int, width: int,
                  height: int) -> 'RasterGrid':
        """A ``width x height`` grid over ``like``'s area whose pixel spans
        ``col_step x row_step`` pixels of ``like`` (a per-tile map)."""
        return cls(width, height, like.crs,
                   coarsened_transform(like.transform, col_step, row_step)
                   ) if like.georeferenced else cls(width, height)

    def __repr__(self) -> str:
        return (f'RasterGrid({self.width}x{self.height}, crs={self.crs}, '
                f'transform={tuple(self.transform)[:6]})')


class GeoTiffWriter:
    """A tiled, compressed GeoTIFF written window by window.

    The file is created under a temporary name beside ``path``; ``close()``
    renames it to ``path`` once complete, ``abort()`` (or an exception in
    a ``with`` block) removes it, so ``path`` never holds a half-written
    raster.

    Args:
        path (str): The final file name.
        like (RasterSource | RasterGrid): Takes the CRS, transform and
            size from it.
        count (int): Number of bands.
        dtype (str): Data type, e.g. ``'uint8'``.
        nodata (float, optional): The nodata value of every band.
        colormap (dict, optional): ``{value: (r, g, b[, a])}`` for band 1.
        tags (dict, optional): Dataset metadata (``key=value``).
        band_descriptions (Sequence[str], optional): One name per band.
        block_size (int): Tile size of the GeoTIFF. Defaults to 256.
        photometric (str, optional): GDAL's ``PHOTOMETRIC`` creation
            option, e.g. ``'MINISBLACK'`` so that no band of a 3- or
            4-band uint8 file is taken as colour or alpha. Defaults to
            GDAL's choice.
    """

    def __init__(self,
                 path: str,
                 like: RasterSource,
                 count: int,
                 dtype: str,
                 nodata: Optional[float] = None,
                 colormap: Optional[Dict[int, tuple]] = None,
                 tags: Optional[Dict[str, str]] = None,
                 band_descriptions: Optional[Sequence[str]] = None,
                 block_size: int = 256,
                 photometric: Optional[str] = None) -> None:
        _require_rasterio()
        self.path = str(path)
        os.makedirs(osp.dirname(self.path) or '.', exist_ok=True)
        self.tmp_path = atomic.temp_path(self.path)
        self.block_size = block_size
        self._pending: list = []  # rows handed to append_rows, unwritten
        self._next_row = 0
        profile = dict(
            driver='GTiff', width=like.width, height=like.height,
            count=count, dtype=dtype, crs=like.crs,
            transform=like.transform, nodata=nodata, tiled=True,
            blockxsize=block_size, blockysize=block_size,
            compress='deflate', predictor=_tiff_predictor(dtype),
            BIGTIFF='IF_SAFER')
        if photometric is not None:
            profile['photometric'] = photometric
        if not like.georeferenced:
            profile.pop('crs')
            profile.pop('transform')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            self._dataset = rasterio.open(self.tmp_path, 'w', **profile)
        try:
            if colormap:
                self._dataset.write_colormap(1, colormap)
            if tags:
                self._dataset.update_tags(**tags)
            for index, name in enumerate(band_descriptions or (), start=1):
                self._dataset.set_band_description(index, name)
        except BaseException:
            self.abort()
            raise

    def write(self, data: np.ndarray, row: int, col: int = 0) -> None:
        """Write a ``(C, h, w)`` (or ``(h, w)``) block at ``(row, col)``."""
        if data.ndim == 2:
            data = data[None]
        self._dataset.write(
            data, window=Window(col, row, data.shape[2], data.shape[1]))

    def append_rows(self, data: np.ndarray) -> None:
        """Append the next full-width ``(C, n, width)`` rows. They are
        written in whole rows of GeoTIFF blocks, so no compressed block
        is written twice."""
        self._pending.append(data)
        pending = sum(block.shape[1] for block in self._pending)
        if pending >= self.block_size:
            self._flush(pending - pending % self.block_size)

    def _flush(self, rows: int) -> None:
        data = np.concatenate(self._pending, axis=1) \
            if len(self._pending) > 1 else self._pending[0]
        self.write(data[:, :rows], self._next_row, 0)
        self._next_row += rows
        rest = data[:, rows:]
        self._pending = [rest] if rest.shape[1] else []

    def close(self) -> None:
        """Finish the file and move it to its final name."""
        try:
            if self._pending:
                self._flush(sum(block.shape[1] for block in self._pending))
            self._dataset.close()
            atomic.commit(self.tmp_path, self.path)
        except BaseException:
            atomic.discard(self.tmp_path)
            raise

    def abort(self) -> None:
        """Drop the unfinished file."""
        try:
            self._dataset.close()
        finally:
            atomic.discard(self.tmp_path)

    def __enter__(self) -> 'GeoTiffWriter':
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
