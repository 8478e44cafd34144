"""The atomic writer (:mod:`lemevit_mm.io.atomic`), the seam of the scene
pipeline (:class:`lemevit_mm.apis.ModelInfo`, numpy backends) and the
scene pipeline without torch and OpenMMLab."""
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from helpers import REPO
from lemevit_mm.apis.scene import InferOptions, ModelInfo, SceneResult
from lemevit_mm.io import atomic


# Hides torch and OpenMMLab from a subprocess (and, with STUB_PACKAGE,
# lemevit_mm/__init__.py: the modules are imported from their files).
BLOCK = '''
import importlib.abc, importlib.util, sys, types
BLOCKED = {'torch', 'torchvision', 'mmengine', 'mmcv', 'mmseg', 'mmdet',
           'mmrotate', 'mmpretrain', 'cv2'}

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ImportError(f'{name} is hidden in this test')
        return None

sys.meta_path.insert(0, Block())
if STUB_PACKAGE:  # skip lemevit_mm/__init__.py (it imports torch)
    spec = importlib.util.find_spec('lemevit_mm')
    package = types.ModuleType('lemevit_mm')
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules['lemevit_mm'] = package
'''


def hidden(folder):
    return sorted(f for f in os.listdir(folder) if f.startswith('.'))


# ---------------------------------------------------------------------------
# Atomic writing
# ---------------------------------------------------------------------------
def test_write_replaces_the_whole_file(tmp_path):
    target = tmp_path / 'out.txt'
    target.write_text('old')
    seen = []

    def write(tmp):
        seen.append(tmp)
        assert osp.dirname(tmp) == str(tmp_path)
        assert atomic.is_temp_file(tmp, target)
        assert target.read_text() == 'old'  # untouched while writing
        with open(tmp, 'w') as f:
            f.write('new')

    atomic.write_atomically(target, write)
    assert target.read_text() == 'new' and hidden(tmp_path) == []
    assert atomic.temp_target(seen[0]) == str(target)
    atomic.write_text(tmp_path / 'sub' / 'a.txt', 'text', make_folder=True)
    atomic.write_bytes(tmp_path / 'b.bin', b'\x00\x01')
    assert (tmp_path / 'sub' / 'a.txt').read_text() == 'text'
    assert (tmp_path / 'b.bin').read_bytes() == b'\x00\x01'


@pytest.mark.parametrize('error', [RuntimeError('disk'), KeyboardInterrupt,
                                   SystemExit(143)])
def test_an_interrupted_write_leaves_nothing(tmp_path, error):
    target = tmp_path / 'out.txt'
    target.write_text('old')

    def write(tmp):
        with open(tmp, 'w') as f:
            f.write('half')
        raise error

    with pytest.raises(type(error) if isinstance(error, BaseException)
                       else error):
        atomic.write_atomically(target, write)
    assert target.read_text() == 'old' and hidden(tmp_path) == []
    with pytest.raises(type(error) if isinstance(error, BaseException)
                       else error):
        with atomic.atomic_output(tmp_path / 'new.txt') as tmp:
            open(tmp, 'w').close()
            raise error
    assert os.listdir(tmp_path) == ['out.txt']


def test_geotiff_writer_failure_leaves_nothing(tmp_path):
    from lemevit_mm.io.raster import GeoTiffWriter, RasterGrid
    with pytest.raises(RuntimeError, match='model crashed'):
        with GeoTiffWriter(str(tmp_path / 'map.tif'), RasterGrid(40, 30), 1,
                           'uint8') as writer:
            writer.write(np.zeros((30, 20), np.uint8), 0, 0)
            raise RuntimeError('model crashed')
    assert os.listdir(tmp_path) == []


def test_a_killed_writer_leaves_a_stale_temp_file_to_remove(tmp_path):
    """SIGKILL cannot be caught: the temporary file stays behind, the
    target is untouched, and the clean-up of a resumed run finds it."""
    target = tmp_path / 'scene.tif'
    target.write_text('done before')
    script = textwrap.dedent(f'''
        import os, signal
        from lemevit_mm.io.atomic import atomic_output
        with atomic_output({str(target)!r}) as tmp:
            with open(tmp, 'w') as f:
                f.write('half written')
                f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    ''')
    # (torch and the package's __init__ left out: a quick start)
    proc = subprocess.run(
        [sys.executable, '-c', f'STUB_PACKAGE = True\n{BLOCK}\n{script}'],
        cwd=REPO)
    assert proc.returncode == -9
    assert target.read_text() == 'done before'
    (tmp_path / 'sub').mkdir()
    other = atomic.temp_path(tmp_path / 'sub' / 'other.geojson')
    open(other, 'w').close()
    (tmp_path / '.hidden_but_mine').write_text('keep')
    (tmp_path / '.x.tif.not-a-uuid.tmp').write_text('keep')
    stale = atomic.stale_temp_files(tmp_path)
    assert len(stale) == 1 and atomic.temp_target(stale[0]) == str(target)
    assert atomic.stale_temp_files(tmp_path, target='other.tif') == []
    assert atomic.stale_temp_files(tmp_path, recursive=True,
                                   target=['scene.tif', 'other.geojson']
                                   ) == sorted(stale + [other])
    assert atomic.remove_stale_temp_files(tmp_path, recursive=True) == \
        sorted(stale + [other])
    assert sorted(os.listdir(tmp_path)) == [
        '.hidden_but_mine', '.x.tif.not-a-uuid.tmp', 'scene.tif', 'sub']
    assert os.listdir(tmp_path / 'sub') == []


def test_rotated_boxes_geojson_in_map_units_dota_in_pixels(tmp_path):
    """GeoJSON polygons through the raster's transform, the DOTA text in
    pixels (the DOTA format; the map coordinates of a 5 cm grid would not
    even survive its one decimal)."""
    from rasterio.crs import CRS
    from rasterio.transform import from_origin
    from lemevit_mm.io.raster import RasterGrid
    from lemevit_mm.io.vector import write_rotated_boxes
    grid = RasterGrid(400, 300, CRS.from_epsg(32633),
                      from_origin(368000.0, 5810000.0, 0.05, 0.05))
    boxes = np.float32([[100, 60, 40, 16, 0], [250, 130, 60, 20, 0.5]])
    out = str(tmp_path / 'boxes.geojson')
    paths = write_rotated_boxes(out, boxes, np.float32([0.9, 0.41234567]),
                                np.int64([1, 7]), ['car', 'ship'], grid)
    assert paths == [out, str(tmp_path / 'boxes_dota.txt')]
    with open(out) as f:
        collection = json.load(f)
    assert collection['crs']['properties']['name'] == \
        'urn:ogc:def:crs:EPSG::32633'
    ring = np.array(collection['features'][0]['geometry']['coordinates'][0])
    np.testing.assert_allclose(ring[0], [368000 + 80 * 0.05,
                                         5810000 - 52 * 0.05])
    assert [f['properties'] for f in collection['features']] == [
        {'class': 'ship', 'score': 0.9}, {'class': '7', 'score': 0.41235}]
    with open(paths[1]) as f:
        lines = f.read().splitlines()
    assert lines[0] == '80.0 52.0 120.0 52.0 120.0 68.0 80.0 68.0 ship 0.9000'
    assert lines[1].endswith(' 7 0.4123') and len(lines) == 2
    # no georeference: pixels in both, marked as such
    write_rotated_boxes(out, boxes[:1], np.float32([1]), np.int64([0]),
                        ['car'], RasterGrid(400, 300))
    with open(out) as f:
        collection = json.load(f)
    assert collection['coordinates'] == 'pixel' and 'crs' not in collection
    assert collection['features'][0]['geometry']['coordinates'][0][0] == \
        [80.0, 52.0]


def test_one_atomic_writer():
    from lemevit_mm.engine import fileio
    from lemevit_mm import raster
    from lemevit_mm.io import raster as io_raster
    assert fileio.write_atomically is atomic.write_atomically
    assert raster.GeoTiffWriter is io_raster.GeoTiffWriter


# ---------------------------------------------------------------------------
# The seam
# ---------------------------------------------------------------------------
def test_model_info_round_trips_through_json():
    info = ModelInfo(task='cd', classes=('unchanged', 'changed'),
                     palette=[(0, 0, 0), (255, 255, 255)], in_channels=3,
                     num_inputs=2, mean=np.float32([123.675, 116.28, 103.53,
                                                    123.675, 116.28,
                                                    103.53]),
                     std=[58.395, 57.12, 57.375] * 2, tile=[256, 256],
                     tile_stride=(192, 192), config='configs/cd/x.py',
                     extra=dict(sha256='ab'))
    data = json.loads(info.to_json())
    assert data['tile'] == [256, 256] and data['origin'] == 'configs/cd/x.py'
    back = ModelInfo.from_json(json.dumps(data))
    assert back == info
    # float32 normalisation survives exactly
    np.testing.assert_array_equal(np.float32(back.mean), np.float32(
        [123.675, 116.28, 103.53] * 2))
    assert back.default_overlap((256, 256)) == 64
    assert back.default_overlap((512, 384)) == 192
    assert ModelInfo.from_dict(dict(data, version='1.0')).extra == \
        dict(sha256='ab', version='1.0')
    with pytest.raises(ValueError, match='unknown task'):
        ModelInfo(task='depth', classes=(), palette=[], in_channels=3)
    with pytest.raises(ValueError, match='missing in_channels'):
        ModelInfo.from_dict(dict(task='seg', classes=[], palette=[]))


def test_options_and_result():
    class Args:
        tile, overlap, probs, align, topk, score_thr = [64, 96], None, \
            True, False, 3, 0.5
        device = 'cpu'

    options = InferOptions.from_args(Args)
    assert options == InferOptions(tile=(64, 96), probs=True, topk=3,
                                   score_thr=0.5)
    result = SceneResult(paths=['a.tif'], tiles=4, seconds=1.5)
    assert result['paths'] == result.paths == ['a.tif']
    assert (result.tiles, result.seconds) == (4, 1.5)
    assert SceneResult().paths == []


# ---------------------------------------------------------------------------
# Without torch and OpenMMLab
# ---------------------------------------------------------------------------

PURE_MODULES = ['lemevit_mm.io', 'lemevit_mm.io.atomic',
                'lemevit_mm.io.raster', 'lemevit_mm.io.vector',
                'lemevit_mm.raster', 'lemevit_mm.geometry',
                'lemevit_mm.apis', 'lemevit_mm.apis.tiling',
                'lemevit_mm.apis.streaming', 'lemevit_mm.apis.scene',
                'lemevit_mm.apis.dense', 'lemevit_mm.apis.detection',
                'lemevit_mm.apis.classification',
                'lemevit_mm.apis.inference']

# A scene of each task through numpy backends, torch and OpenMMLab
# hidden: prints one JSON line of what came out.
SCENES = '''
import json, os, numpy as np, rasterio
from rasterio.transform import from_origin
from lemevit_mm.apis import ModelInfo, build_inferencer
from lemevit_mm.apis.scene import Backend

folder = FOLDER
def tif(name, seed):
    path = os.path.join(folder, name)
    data = np.random.RandomState(seed).randint(0, 256, (3, 70, 90))
    with rasterio.open(path, 'w', driver='GTiff', width=90, height=70,
                       count=3, dtype='uint8', crs='EPSG:32633',
                       transform=from_origin(368000, 5810000, 1, 1)) as f:
        f.write(data.astype(np.uint8))
    return path, data

class PerPixel:
    def __init__(self, task, channels, classes):
        self.weight = np.random.RandomState(1).randn(classes, channels)
        self.info = ModelInfo(task=task, classes=[f'c{i}' for i in
                              range(classes)], palette=[(i, i, i) for i in
                              range(classes)], in_channels=3,
                              num_inputs=2 if task == 'cd' else 1,
                              channel_order='file', tile=(32, 32),
                              origin='numpy')
    def forward(self, batch):
        logits = np.einsum('kc,bchw->bkhw', self.weight, batch / 255.)
        if self.info.task == 'cls':
            p = np.exp(logits.mean((2, 3)))
            return (p / p.sum(1, keepdims=True)).astype(np.float32)
        return logits.astype(np.float32)

class Boxes:
    info = ModelInfo(task='det', classes=['car'], palette=[(9, 9, 9)],
                     in_channels=3, tile=(96, 96), overlap=16)
    def forward(self, batch):
        box = np.float32([[30, 30, 20, 10, 0.3], [31, 30, 20, 10, 0.3]])
        return [(box, np.float32([0.9, 0.8]), np.int64([0, 0]))
                for _ in batch]

a, data_a = tif('a.tif', 0)
b, data_b = tif('b.tif', 1)
seg = PerPixel('seg', 3, 4)
assert isinstance(seg, Backend)
out = {}
result = build_inferencer(seg, quiet=True).infer([a], os.path.join(
    folder, 'seg.tif'), probs=True, overlap=8)
with rasterio.open(result['paths'][0]) as f:
    labels = f.read(1)
    out['seg_crs'] = f.crs.to_string()
out['seg_paths'] = [os.path.basename(p) for p in result.paths]
out['seg_exact'] = bool((labels == seg.forward(
    data_a[None].astype(np.float32))[0].argmax(0)).all())
cd = PerPixel('cd', 6, 2)
memory = build_inferencer(cd, quiet=True).infer([a, b], tile=(48, 48))
expected = cd.forward(np.concatenate([data_a, data_b])[None].astype(
    np.float32))[0].argmax(0)
out['cd_exact'] = bool((memory['labels'] == expected).all())
det = build_inferencer(Boxes(), quiet=True).infer(
    [a], os.path.join(folder, 'boxes.geojson'))
out['det_paths'] = [os.path.basename(p) for p in det.paths]
out['det_boxes'] = len(det['boxes'])
cls = build_inferencer(PerPixel('cls', 3, 5), quiet=True)
table = cls.infer([a, b], os.path.join(folder, 'classes.csv'), topk=2)
out['cls_rows'] = len(open(table.paths[0]).read().splitlines())
import sys
out['hidden'] = [m for m in ('torch', 'mmengine', 'mmcv')
                 if m in sys.modules]
print(json.dumps(out))
'''


def run_hidden(code: str, stub_package: bool) -> str:
    script = f'STUB_PACKAGE = {stub_package}\n' + BLOCK + code
    proc = subprocess.run([sys.executable, '-c', script], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_scene_modules_import_without_torch():
    imports = '\n'.join(f'import {name}' for name in PURE_MODULES)
    run_hidden(imports + '\nprint("ok")', stub_package=True)


def test_scene_pipeline_runs_without_torch(tmp_path):
    """Every task through a numpy backend, torch and OpenMMLab hidden:
    GeoTIFF, GeoJSON + DOTA (numpy rotated NMS), CSV."""
    output = run_hidden(SCENES.replace('FOLDER', repr(str(tmp_path))),
                        stub_package=True)
    out = json.loads(output.strip().splitlines()[-1])
    assert out == dict(seg_crs='EPSG:32633',
                       seg_paths=['seg.tif', 'seg_probs.tif'],
                       seg_exact=True, cd_exact=True,
                       det_paths=['boxes.geojson', 'boxes_dota.txt'],
                       det_boxes=1, cls_rows=3, hidden=[])
    assert hidden(tmp_path) == []


def _package_imports_without_torch() -> bool:
    script = f'STUB_PACKAGE = False\n{BLOCK}\nimport lemevit_mm'
    return subprocess.run([sys.executable, '-c', script], cwd=REPO,
                          capture_output=True).returncode == 0


@pytest.mark.skipif(not _package_imports_without_torch(),
                    reason='lemevit_mm/__init__.py needs torch (its '
                    'torch-optional import is not in this tree yet)')
def test_scene_modules_import_without_torch_through_the_package():
    imports = '\n'.join(f'import {name}' for name in PURE_MODULES)
    run_hidden(imports + '\nprint("ok")', stub_package=False)
