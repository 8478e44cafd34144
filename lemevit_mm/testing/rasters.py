"""(Geo)TIFF files of arrays, for the synthetic samples (tests, demos).

:func:`write_tiff` is a thin call of the project's GeoTIFF writer
(:class:`lemevit_mm.io.raster.GeoTiffWriter`), which writes under a
temporary name and renames the complete file.
"""
from typing import Optional, Tuple

import numpy as np

__all__ = ['SYNTHETIC_CRS', 'write_tiff']

# A UTM zone 32N grid (Germany): where the synthetic tiles are placed.
SYNTHETIC_CRS = 'EPSG:32632'


def write_tiff(path: str, image: np.ndarray,
               origin: Optional[Tuple[float, float]] = None,
               pixel_size: float = 1.0,
               nodata: Optional[float] = None) -> str:
    """Write ``image`` ``(H, W, C)`` (or ``(H, W)``) as a (Geo)TIFF of its
    own data type, band ``i`` = ``image[..., i - 1]``.

    The bands are written as grey levels (``PHOTOMETRIC=MINISBLACK``):
    no band of a 3- or 4-band uint8 file becomes colour or alpha. The file
    appears complete or not at all.

    Args:
        path (str): The output file.
        image (np.ndarray): The bands, any data type rasterio writes.
        origin (tuple[float, float], optional): Map coordinates (x, y) of
            the upper-left corner in :data:`SYNTHETIC_CRS`; None writes a
            plain TIFF without georeference. Defaults to None.
        pixel_size (float): Ground size of a pixel in metres. Defaults
            to 1.
        nodata (float, optional): The nodata value of every band.

    Returns:
        str: ``path``.
    """
    from rasterio.transform import from_origin

    from ..io.raster import GeoTiffWriter, RasterGrid
    if image.ndim == 2:
        image = image[..., None]
    height, width, count = image.shape
    grid = RasterGrid(width, height)
    if origin is not None:
        grid = RasterGrid(width, height, SYNTHETIC_CRS,
                          from_origin(*origin, pixel_size, pixel_size))
    with GeoTiffWriter(path, grid, count, image.dtype.name, nodata=nodata,
                       photometric='MINISBLACK') as writer:
        writer.write(np.ascontiguousarray(image.transpose(2, 0, 1)), 0, 0)
    return str(path)
