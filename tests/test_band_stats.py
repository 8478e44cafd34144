"""``tools/analysis_tools/band_stats.py`` on what a new user tries first:
one scene file, a glob, a list of files, a folder; and its errors."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from helpers import REPO, load_tool
from lemevit_mm.analysis.band_stats import band_statistics, find_rasters
from lemevit_mm.testing.rasters import write_tiff

TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'band_stats.py')
NODATA = 0


def landsat_like(path: str, seed: int, size: int = 37) -> np.ndarray:
    """A 7-band uint16 GeoTIFF with a nodata corner (as a scene's swath
    edge); returns its ``(n, 7)`` valid pixels as float64."""
    rng = np.random.default_rng(seed)
    image = rng.integers(7000, 30000, (size, size, 7), dtype=np.uint16)
    image[:9, :13] = NODATA
    write_tiff(path, image, origin=(500000.0, 5600000.0), pixel_size=30.0,
               nodata=NODATA)
    return image[(image != NODATA).any(-1)].astype(np.float64)


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, TOOL, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def printed_values(stdout: str, key: str) -> np.ndarray:
    line, = [line for line in stdout.splitlines()
             if line.startswith(f'{key}=')]
    return np.array(eval(line[len(key) + 1:]))


def test_one_scene_file_on_the_command_line(tmp_path):
    scene = str(tmp_path / 'LC09_L2SP_193026_SR.TIF')
    pixels = landsat_like(scene, seed=0)
    result = run_tool(scene, '--bands', '2', '3', '4', '5', '--window', '16')
    assert result.returncode == 0, result.stderr
    assert f'\n1 file(s), {len(pixels)} valid pixels ({9 * 13} nodata ' \
        'skipped), bands [2, 3, 4, 5]:\n' in '\n' + result.stdout
    np.testing.assert_allclose(printed_values(result.stdout, 'mean'),
                               pixels.mean(0)[1:5], atol=5e-5)
    np.testing.assert_allclose(printed_values(result.stdout, 'std'),
                               pixels.std(0)[1:5], atol=5e-5)


def test_globs_lists_and_folders_count_each_file_once(tmp_path):
    folder = tmp_path / 'scenes'
    folder.mkdir()
    pixels = [landsat_like(str(folder / f'scene_{i}.tif'), seed=i)
              for i in range(3)]
    (folder / 'README.txt').write_text('not a raster')
    first = str(folder / 'scene_0.tif')
    everything = np.concatenate(pixels)
    for sources in ([str(folder / 'scene_*.tif')], [str(folder)],
                    [first, str(folder / 'scene_[12].tif'), first]):
        paths = find_rasters(sources)
        assert [osp.basename(p) for p in paths] == [
            'scene_0.tif', 'scene_1.tif', 'scene_2.tif'], sources
        result = band_statistics(paths, window=20)
        assert result['files'] == 3
        assert result['pixels'] == len(everything)
        np.testing.assert_allclose(result['mean'], everything.mean(0),
                                   rtol=1e-12)
        np.testing.assert_allclose(result['std'], everything.std(0),
                                   rtol=1e-10)
    # a recursive glob whose matches are folders reads the rasters below
    assert len(find_rasters([str(tmp_path / '**' / 'scenes')])) == 3


def test_errors_name_the_source(tmp_path, capsys):
    missing = str(tmp_path / 'LC09_missing.TIF')
    # on the command line: one line, no traceback
    result = run_tool(missing)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f'band_stats: {missing}: no such raster file or folder.')
    assert 'Traceback' not in result.stderr

    tool = load_tool('tools/analysis_tools/band_stats.py')
    with pytest.raises(FileNotFoundError, match='no such raster'):
        tool.main([missing])
    with pytest.raises(FileNotFoundError,
                       match='the pattern matches no file'):
        tool.main([str(tmp_path / '*.TIF')])
    text = tmp_path / 'notes.txt'
    text.write_text('not a raster')
    with pytest.raises(SystemExit,
                       match=f'band_stats: {text}: not a raster GDAL can '
                       'read'):
        tool.main([str(text)])
    scene = str(tmp_path / 'scene.tif')
    landsat_like(scene, seed=1)
    with pytest.raises(SystemExit, match=r'band\(s\) \[8\] out of range; '
                       'the raster has 7 band'):
        tool.main([scene, '--bands', '8'])
    with pytest.raises(SystemExit, match='is read alone'):
        tool.main([scene, 'configs/seg/lemevit_t_upernet_potsdam.py'])
