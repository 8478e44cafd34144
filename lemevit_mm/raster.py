"""Old home of :mod:`lemevit_mm.io.raster` (reading and writing rasters);
kept so that ``from lemevit_mm.raster import ...`` goes on working."""
from .io.raster import *  # noqa: F401,F403
from .io.raster import (GeoTiffWriter, PixelWindow, RasterError,  # noqa
                        RasterGrid, RasterSource, check_same_grid,
                        coarsened_transform, float16_supported,
                        pixel_to_map, rasterio, read_image)
from .io.raster import __all__  # noqa: F401
