"""Writing the generated rasters of the synthetic samples (tests, demos).
"""
import os
import os.path as osp
import warnings
from typing import Optional, Tuple

import numpy as np

# A UTM zone 32N grid (Germany): where the synthetic tiles are placed.
SYNTHETIC_CRS = 'EPSG:32632'


def write_tiff(path: str, image: np.ndarray,
               origin: Optional[Tuple[float, float]] = None,
               pixel_size: float = 1.0,
               nodata: Optional[float] = None) -> str:
    """Write ``image`` ``(H, W, C)`` (or ``(H, W)``) as a (Geo)TIFF of its
    own data type, band ``i`` = ``image[..., i - 1]``.

    The file appears complete or not at all (written under a temporary
    name, then renamed).

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
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.transform import from_origin
    if image.ndim == 2:
        image = image[..., None]
    height, width, count = image.shape
    profile = dict(driver='GTiff', width=width, height=height, count=count,
                   dtype=image.dtype.name, nodata=nodata,
                   photometric='MINISBLACK', compress='deflate')
    if origin is not None:
        profile.update(crs=SYNTHETIC_CRS,
                       transform=from_origin(*origin, pixel_size,
                                             pixel_size))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp'
    try:
        with warnings.catch_warnings():
            if origin is None:  # a plain TIFF on purpose
                warnings.simplefilter('ignore', NotGeoreferencedWarning)
            with rasterio.open(tmp, 'w', **profile) as out:
                out.write(np.ascontiguousarray(image.transpose(2, 0, 1)))
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path
