"""Cloud Optimized GeoTIFF (COG) outputs through rio-cogeo.

A COG is a GeoTIFF laid out for reading over HTTP: internally tiled,
with overviews, its header and the overviews' index first. GIS tools and
tile servers read a window or a zoomed-out view of it without fetching the
whole file.

Overviews are resampled by what the pixels mean: ``nearest`` for integer
rasters (class ids, change masks: an average of two class ids is no class),
``average`` for floating point ones (probabilities).
"""
import os.path as osp
from typing import List, Optional, Tuple

from .atomic import atomic_output

__all__ = ['overview_resampling', 'to_cog', 'validate_cog']


def _require_rio_cogeo():
    try:
        from rio_cogeo import cogeo, profiles
    except ImportError:
        raise ImportError(
            'Cloud Optimized GeoTIFFs (--cog) need rio-cogeo, which is not '
            'installed: `pip install rio-cogeo`.') from None
    return cogeo, profiles


def overview_resampling(dtype: str) -> str:
    """``'nearest'`` for integer data (class ids, masks), ``'average'``
    for floating point data (probabilities)."""
    return 'average' if 'float' in str(dtype) else 'nearest'


def _predictor(dtype: str) -> int:
    # as io.raster's writer: floating point (3) except float16, which
    # GDAL's float predictor refuses; horizontal differencing for ints
    if dtype in ('float32', 'float64'):
        return 3
    return 1 if 'float' in dtype else 2


def to_cog(path: str, out: Optional[str] = None,
           resampling: Optional[str] = None, block_size: int = 512) -> str:
    """Rewrite the GeoTIFF ``path`` as a COG (to ``out``, by default in
    place), atomically: deflate-compressed ``block_size`` tiles and
    overviews down to one tile, with the colour table, metadata, band
    descriptions and nodata of the source.

    Args:
        path (str): A GeoTIFF.
        out (str, optional): Where to write (default: replace ``path``).
        resampling (str, optional): Overview resampling (default: by data
            type, see :func:`overview_resampling`).
        block_size (int): Internal tile size. Defaults to 512 (GDAL's).

    Returns:
        str: The COG's path.
    """
    import rasterio
    cogeo, profiles = _require_rio_cogeo()
    out = out or path
    with rasterio.open(path) as source:
        dtype = source.dtypes[0]
        try:
            colormap = source.colormap(1)
        except ValueError:
            colormap = None
    profile = profiles.cog_profiles.get('deflate')
    profile.update(blockxsize=block_size, blockysize=block_size,
                   predictor=_predictor(dtype), BIGTIFF='IF_SAFER')
    with atomic_output(out) as tmp:
        cogeo.cog_translate(
            path, tmp, profile,
            overview_resampling=resampling or overview_resampling(dtype),
            colormap=colormap, forward_band_tags=True, quiet=True,
            in_memory=False, temporary_compression='DEFLATE')
        _drop_side_files(tmp)
    return out


def _drop_side_files(tmp: str) -> None:
    """GDAL may leave ``<tmp>.aux.xml`` beside a file it wrote
    statistics for; the COG holds everything itself."""
    side = tmp + '.aux.xml'
    if osp.exists(side):
        import os
        os.remove(side)


def validate_cog(path: str) -> Tuple[bool, List[str], List[str]]:
    """rio-cogeo's ``cog_validate``: ``(valid, errors, warnings)``."""
    cogeo, _ = _require_rio_cogeo()
    return cogeo.cog_validate(path, quiet=True)
