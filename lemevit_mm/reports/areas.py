"""Pixel sizes and areas in metres from a raster's CRS and transform.

The conventions are GDAL's and QGIS's: coordinates stay in the raster's
CRS; an area is the area of the pixels in the map's units, turned into
square metres with the CRS's linear unit (metres, US feet, ...). For a
geographic CRS (degrees) a pixel's area depends on its latitude: it is
the area of its cell on the sphere of the WGS 84 authalic radius (within
0.3% of the ellipsoid's). A raster without CRS has no area in metres
(None); its areas are counted in pixels only.
"""
import math
from typing import Optional

import numpy as np

__all__ = [
    'AUTHALIC_RADIUS', 'metres_per_unit', 'is_geographic', 'row_areas_m2',
    'pixel_size_m', 'pixel_offsets_m'
]

# metres; the radius of the sphere of the WGS 84 ellipsoid's area
AUTHALIC_RADIUS = 6371007.181


def is_geographic(crs) -> bool:
    """Whether ``crs`` has angular (degree) coordinates."""
    return crs is not None and bool(getattr(crs, 'is_geographic', False))


def metres_per_unit(crs) -> Optional[float]:
    """Metres per linear unit of a projected CRS (1 for metres); None for
    no CRS or a geographic one."""
    if crs is None or is_geographic(crs):
        return None
    try:
        return float(crs.linear_units_factor[1])
    except Exception:  # an engineering CRS without a unit
        return None


def _pixel_determinant(transform) -> float:
    a, b, _, d, e, _ = tuple(transform)[:6]
    return abs(a * e - b * d)


def row_areas_m2(transform, crs, rows: np.ndarray) -> Optional[np.ndarray]:
    """The area in m² of one pixel in each of the given rows (float64,
    the shape of ``rows``); None when the raster has no CRS.

    Args:
        transform (Affine): Pixel to map coordinates.
        crs: The raster's CRS (rasterio's), or None.
        rows (np.ndarray): Row indices (pixel rows of the raster; the
            fractional centre row of an object works too).
    """
    rows = np.asarray(rows, np.float64)
    factor = metres_per_unit(crs)
    if factor is not None:
        return np.full(rows.shape, _pixel_determinant(transform) *
                       factor ** 2)
    if not is_geographic(crs):
        return None
    a, b, c, d, e, f = tuple(transform)[:6]
    if b == 0 and d == 0:
        # a north-up grid: the exact cell area on the sphere
        top = np.radians(np.clip(f + e * rows, -90, 90))
        bottom = np.radians(np.clip(f + e * (rows + 1), -90, 90))
        return AUTHALIC_RADIUS ** 2 * abs(math.radians(a)) * \
            np.abs(np.sin(top) - np.sin(bottom))
    # a rotated grid: the area at the pixel's centre latitude
    latitude = np.radians(f + d * 0.5 + e * (rows + 0.5))
    return _pixel_determinant(transform) * \
        (AUTHALIC_RADIUS * math.pi / 180) ** 2 * np.cos(latitude)


def pixel_size_m(transform, crs, row: float = 0.) -> Optional[float]:
    """The width of a pixel (along the raster's rows) in metres at pixel
    row ``row``, for scale bars; None without CRS."""
    a, b, c, d, e, f = tuple(transform)[:6]
    width_units = math.hypot(a, d)
    factor = metres_per_unit(crs)
    if factor is not None:
        return width_units * factor
    if not is_geographic(crs):
        return None
    latitude = math.radians(f + e * row)
    return width_units * AUTHALIC_RADIUS * math.pi / 180 * \
        math.cos(latitude)


def pixel_offsets_m(transform, crs, d_col: np.ndarray, d_row: np.ndarray,
                    rows: np.ndarray) -> Optional[np.ndarray]:
    """Lengths in metres of pixel offsets ``(d_col, d_row)`` taken at
    pixel rows ``rows`` (the shift of an object between two dates);
    None without CRS."""
    a, b, c, d, e, f = tuple(transform)[:6]
    d_col = np.asarray(d_col, np.float64)
    d_row = np.asarray(d_row, np.float64)
    dx, dy = a * d_col + b * d_row, d * d_col + e * d_row
    factor = metres_per_unit(crs)
    if factor is not None:
        return np.hypot(dx, dy) * factor
    if not is_geographic(crs):
        return None
    latitude = np.radians(f + e * np.asarray(rows, np.float64))
    scale = AUTHALIC_RADIUS * math.pi / 180
    return np.hypot(dx * scale * np.cos(latitude), dy * scale)
