"""lemevit_mm.testing: the synthetic GeoTIFFs go through the project's
GeoTIFF writer, and the fixture modules keep their command lines."""
import os
import subprocess
import sys

import numpy as np
import pytest

from lemevit_mm.io.raster import RasterSource
from lemevit_mm.testing.rasters import SYNTHETIC_CRS, write_tiff

from helpers import REPO

rasterio = pytest.importorskip('rasterio')


@pytest.mark.filterwarnings(
    'ignore::rasterio.errors.NotGeoreferencedWarning')
def test_four_uint8_bands_stay_four_grey_bands(tmp_path):
    """GDAL would make band 4 of an RGB uint8 file its alpha (a mask)."""
    image = np.random.default_rng(0).integers(0, 256, (40, 24, 4),
                                              dtype=np.uint8)
    path = write_tiff(str(tmp_path / 'sub' / 'rgbir.tif'), image)
    assert os.listdir(tmp_path / 'sub') == ['rgbir.tif']  # no temp file
    with rasterio.open(path) as dataset:
        assert dataset.count == 4 and dataset.dtypes[0] == 'uint8'
        assert 'alpha' not in [c.name for c in dataset.colorinterp]
        assert dataset.crs is None
        np.testing.assert_array_equal(dataset.read(),
                                      image.transpose(2, 0, 1))
    with RasterSource(path) as source:
        assert not source.georeferenced and not source.has_mask


def test_georeference_and_nodata_of_a_uint16_raster(tmp_path):
    image = np.arange(2 * 3 * 13, dtype=np.uint16).reshape(2, 3, 13)
    path = write_tiff(str(tmp_path / 's2.tif'), image,
                      origin=(500000.0, 5400000.0), pixel_size=10.0,
                      nodata=0)
    with rasterio.open(path) as dataset:
        assert dataset.crs.to_string() == SYNTHETIC_CRS
        assert tuple(dataset.transform)[:6] == (10.0, 0.0, 500000.0, 0.0,
                                                -10.0, 5400000.0)
        assert dataset.nodata == 0 and dataset.count == 13
        np.testing.assert_array_equal(dataset.read(),
                                      image.transpose(2, 0, 1))


def test_single_band_from_a_2d_array(tmp_path):
    label = np.eye(5, dtype=np.float32)
    with RasterSource(write_tiff(str(tmp_path / 'one.tif'), label)) as src:
        assert src.count == 1
        np.testing.assert_array_equal(src.read()[0], label)


def test_fixture_module_command_line(tmp_path):
    """``python -m lemevit_mm.testing.cls`` writes the tiny ImageNet."""
    root = tmp_path / 'tiny'
    subprocess.run([sys.executable, '-m', 'lemevit_mm.testing.cls',
                    str(root), '--classes', '2', '--train', '1', '--val',
                    '1', '--size', '8'], cwd=REPO, check=True, timeout=120)
    assert (root / 'meta' / 'classes.txt').read_text().split() == [
        'n00000000', 'n00000001']
    assert len((root / 'meta' / 'train.txt').read_text().splitlines()) == 2
