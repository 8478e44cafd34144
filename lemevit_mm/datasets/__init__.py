"""Task-neutral data parts: N-band / 16-bit raster loading (rasterio)."""
from .transforms import (IgnoreNodataLabels, LoadMultiBandImageFromFile,
                         LoadMultiBandImagePairFromFile, parse_bands)

__all__ = [
    'IgnoreNodataLabels', 'LoadMultiBandImageFromFile',
    'LoadMultiBandImagePairFromFile', 'parse_bands'
]
