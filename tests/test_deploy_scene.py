"""Scene inference with exported models: the same pipeline (tiling,
blending, nodata, georeference, outputs) with the ONNX Runtime backend as
with the PyTorch one, on a generated 1100 x 1300 scene; the same run in a
deploy-only environment (torch and OpenMMLab hidden); INT8 models."""
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from helpers import REPO
from lemevit_mm.apis import build_inferencer
from lemevit_mm.apis.loading import TorchModel
from lemevit_mm.deploy import load_exported, read_sidecar
from lemevit_mm.deploy.parity import (map_agreement, match_detections,
                                      polygons_to_rboxes)
from test_deploy import (CD, CD_BATCH_FROZEN, DET,  # noqa: F401
                         DETECTOR_OPEN, SEG, SEG_TILE, exported)

pytest.importorskip('onnxruntime')

SCENE = (1100, 1300)
UTM = 'EPSG:32633'
TRANSFORM = from_origin(368000.0, 5810000.0, 0.5, 0.5)
# hidden in the deploy-only subprocess
HIDDEN = ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmdet', 'mmseg',
          'mmrotate', 'mmpretrain')


def write_scene(path, seed=0, nodata=True):
    """A smooth random 3-band uint8 scene (structures of a few dozen
    pixels) with a nodata corner."""
    rng = np.random.RandomState(seed)
    coarse = rng.randint(0, 256, (3, SCENE[0] // 25 + 2,
                                  SCENE[1] // 25 + 2))
    data = np.repeat(np.repeat(coarse, 25, 1), 25, 2)[
        :, :SCENE[0], :SCENE[1]]
    data = np.clip(data + rng.randint(-20, 21, data.shape), 1, 255)
    data = data.astype(np.uint8)
    if nodata:
        data[:, :90, :140] = 0
    with rasterio.open(path, 'w', driver='GTiff', width=SCENE[1],
                       height=SCENE[0], count=3, dtype='uint8', crs=UTM,
                       transform=TRANSFORM, nodata=0 if nodata else None,
                       tiled=True) as f:
        f.write(data)
    return path


@pytest.fixture(scope='module')
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp('scene')
    return dict(a=write_scene(str(folder / 'a.tif'), 0),
                b=write_scene(str(folder / 'b.tif'), 1))


@pytest.mark.parametrize('config,tile', [
    (SEG, (256, 256)),
    pytest.param(CD, (256, 256), marks=CD_BATCH_FROZEN)])
def test_dense_scene_parity(exported, scene, tmp_path, config, tile):
    path, _, checkpoint = exported(config, SEG_TILE if config == SEG
                                   else None)
    inputs = [scene['a']] + ([scene['b']] if config == CD else [])
    results = {}
    for name, backend in (('torch', TorchModel(config, checkpoint)),
                          ('onnxruntime', load_exported(path))):
        inferencer = build_inferencer(backend, batch_size=2, quiet=True)
        results[name] = inferencer.infer(inputs, None, tile=tile,
                                         overlap=64, probs=True)
    ref, got = results['torch'], results['onnxruntime']
    assert ref['labels'].shape == SCENE
    valid = ref['labels'] != 255
    assert (~valid).sum() == 90 * 140  # nodata stays nodata
    np.testing.assert_array_equal(ref['labels'] == 255, got['labels'] == 255)
    agreement = (ref['labels'] == got['labels']).mean()
    assert agreement >= 0.9999, agreement
    worst = np.nanmax(np.abs(ref['probs'] - got['probs']))
    assert worst <= 1e-4, worst
    assert ref['tiles'] == got['tiles'] > 20


def read_features(path):
    with open(path) as f:
        collection = json.load(f)
    rings = [feature['geometry']['coordinates'][0][:4]
             for feature in collection['features']]
    names = [feature['properties']['class']
             for feature in collection['features']]
    scores = [feature['properties']['score']
              for feature in collection['features']]
    return collection, np.asarray(rings, np.float64).reshape(-1, 4, 2), \
        names, np.asarray(scores)


@DETECTOR_OPEN
def test_detection_scene_parity(exported, scene, tmp_path):
    path, _, checkpoint = exported(DET, (256, 256))
    outs = {}
    for name, backend in (('torch', TorchModel(DET, checkpoint)),
                          ('onnxruntime', load_exported(path))):
        inferencer = build_inferencer(backend, batch_size=2, quiet=True)
        out = str(tmp_path / f'{name}.geojson')
        result = inferencer.infer([scene['a']], out, tile=(256, 256),
                                  overlap=64, score_thr=0.2)
        outs[name] = (result, out)
    (ref, ref_path), (got, got_path) = outs['torch'], outs['onnxruntime']
    assert ref['tiles'] == got['tiles'] > 20
    collection, rings_a, names_a, scores_a = read_features(ref_path)
    _, rings_b, names_b, scores_b = read_features(got_path)
    assert collection['crs']['properties']['name'].endswith('32633')
    assert len(rings_a) > 10, len(rings_a)
    classes = sorted(set(names_a) | set(names_b))
    labels_a = np.array([classes.index(n) for n in names_a])
    labels_b = np.array([classes.index(n) for n in names_b])
    # map coordinates relative to the scene origin (metres)
    origin = np.array([TRANSFORM.c, TRANSFORM.f])
    match = match_detections(
        (polygons_to_rboxes(rings_a - origin), scores_a, labels_a),
        (polygons_to_rboxes(rings_b - origin), scores_b, labels_b),
        min_iou=0.99, score_tol=1e-4 + 1e-5)  # GeoJSON rounds to 5 digits
    # one to one up to near-tied proposals (see deploy.check.check_export)
    assert match['matched'] >= 0.97 * max(match['reference'],
                                          match['other']), match


def sitecustomize(folder):
    """A sitecustomize module that makes torch and OpenMMLab unimportable
    (a deploy-only environment)."""
    code = textwrap.dedent(f'''
        import sys

        HIDDEN = {HIDDEN!r}


        class HideTraining:
            """Refuse the training stack, as if not installed."""

            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in HIDDEN:
                    raise ImportError(f'{{name}} is hidden (deploy-only)',
                                      name=name)
                return None


        sys.meta_path.insert(0, HideTraining())
        ''')
    with open(osp.join(folder, 'sitecustomize.py'), 'w') as f:
        f.write(code)


@pytest.mark.parametrize(
    'config', [SEG, pytest.param(DET, marks=DETECTOR_OPEN)])
def test_deploy_only_environment(exported, scene, tmp_path, config):
    """``python -m lemevit_mm.deploy`` with torch, torchvision, mmengine,
    mmcv, mmdet, mmseg, mmrotate and mmpretrain hidden writes the same
    outputs as the same backend in this process."""
    tile = (256, 256)
    path, _, _ = exported(config, tile)
    hide = tmp_path / 'hide'
    hide.mkdir()
    sitecustomize(str(hide))
    ext = '.geojson' if config == DET else '.tif'
    out = str(tmp_path / f'deploy{ext}')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hide), REPO]))
    probe = subprocess.run(
        [sys.executable, '-c', 'import torch'], env=env,
        capture_output=True, text=True)
    assert probe.returncode != 0 and 'hidden' in probe.stderr
    args = ['--tile', *map(str, tile), '--overlap', '64', '--quiet']
    if config == DET:
        args += ['--score-thr', '0.2']
    proc = subprocess.run(
        [sys.executable, '-m', 'lemevit_mm.deploy', path, scene['a'], '-o',
         out, *args], env=env, cwd=str(tmp_path), capture_output=True,
        text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    inferencer = build_inferencer(load_exported(path), batch_size=2,
                                  quiet=True)
    expected = str(tmp_path / f'here{ext}')
    call = dict(tile=tile, overlap=64)
    if config == DET:
        call.update(score_thr=0.2)
    inferencer.infer([scene['a']], expected, **call)
    if config == DET:
        assert read_features(out)[2] == read_features(expected)[2]
        np.testing.assert_allclose(read_features(out)[1],
                                   read_features(expected)[1], atol=1e-3)
        return
    with rasterio.open(out) as a, rasterio.open(expected) as b:
        assert a.crs == b.crs and a.transform == b.transform
        np.testing.assert_array_equal(a.read(), b.read())


def test_int8_quantization(exported, scene, tmp_path, capsys):
    from lemevit_mm.deploy.quantize import quantize_model
    path, _, _ = exported(SEG, SEG_TILE)
    lines = []
    result = quantize_model(path, [scene['a']], str(tmp_path / 'int8.onnx'),
                            count=8, log=lines.append)
    agreement = result['agreement']
    assert 0.5 < agreement['pixel_agreement'] <= 1
    assert 0 < agreement['miou'] <= 1
    assert 'pixel agreement' in lines[0] and 'mIoU' in lines[0]
    sidecar = read_sidecar(result['model'])
    quantization = sidecar['extra']['deploy']['quantization']
    assert quantization['calibration_tiles'] == 8
    import onnx
    ops = {n.op_type for n in onnx.load(result['model']).graph.node}
    assert {'QuantizeLinear', 'DequantizeLinear'} <= ops
    # the INT8 model runs in the scene pipeline too
    int8 = load_exported(result['model'])
    labels = build_inferencer(int8, quiet=True).infer(
        [scene['a']], None, tile=(256, 256), overlap=64)['labels']
    assert labels.shape == SCENE


def test_infer_tool_backend(exported, scene, tmp_path):
    """``tools/infer.py --backend onnxruntime MODEL INPUT -o OUT`` writes
    what the backend gives in this process."""
    from helpers import load_tool
    path, _, _ = exported(SEG, SEG_TILE)
    tool = load_tool('tools/infer.py')
    out = str(tmp_path / 'tool.tif')
    assert tool.main(['--backend', 'onnxruntime', path, scene['a'], '-o',
                      out, '--tile', '256', '256', '--overlap', '64',
                      '--quiet']) == 0
    expected = build_inferencer(load_exported(path), quiet=True).infer(
        [scene['a']], None, tile=(256, 256), overlap=64)['labels']
    with rasterio.open(out) as f:
        np.testing.assert_array_equal(f.read(1), expected)
        assert f.crs == UTM
    missing = str(tmp_path / 'missing.onnx')
    assert tool.main(['--backend', 'openvino', missing, scene['a'], '-o',
                      str(tmp_path / 'x.tif')]) == 2
