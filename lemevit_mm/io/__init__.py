"""Files in and out: atomic writing (:mod:`.atomic`), rasters
(:mod:`.raster`: the raster reader and the GeoTIFF writer) and vectors
(:mod:`.vector`: rotated boxes as GeoJSON and DOTA text).

These modules import numpy (and rasterio where a raster is opened), never
torch or the OpenMMLab packages: an environment with numpy, rasterio and
a model runtime runs the scene pipeline.
"""
from .atomic import (atomic_output, remove_stale_temp_files,
                     stale_temp_files, write_atomically)
from .raster import (GeoTiffWriter, RasterError, RasterGrid, RasterSource,
                     check_same_grid, read_image)
from .vector import write_rotated_boxes

__all__ = [
    'atomic_output', 'write_atomically', 'stale_temp_files',
    'remove_stale_temp_files', 'GeoTiffWriter', 'RasterError', 'RasterGrid',
    'RasterSource', 'check_same_grid', 'read_image', 'write_rotated_boxes'
]
