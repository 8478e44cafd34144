"""Scene-scale inference (``tools/infer.py``, :mod:`lemevit_mm.apis`) on
generated GeoTIFFs with a UTM georeference."""
import csv
import json
import os
import os.path as osp

import numpy as np
import pytest
import rasterio
import torch
from mmengine.config import Config
from rasterio.transform import from_origin

from helpers import REPO, load_tool
from lemevit_mm.apis import (ChangeInferencer, RotatedDetectionInferencer,
                             SegmentationInferencer, build_model_from_config,
                             tile_grid)
from lemevit_mm.apis.inference import rbox_corners
from lemevit_mm.raster import GeoTiffWriter, RasterSource, float16_supported
# the autocast policy: where the CPU's bf16 support is read and the
# warning logged (formerly in the inference module)
from lemevit_mm.utils import autocast as fast_inference
from lemevit_mm.utils import autocast as inference_module

SEG_CONFIG = osp.join(REPO, 'configs/seg/lemevit_t_upernet_potsdam_sample.py')
CD_CONFIG = osp.join(REPO, 'configs/cd/lemevit_t_bit_cdd.py')
DET_CONFIG = osp.join(REPO, 'configs/det/lemevit_t_oriented-rcnn_dota.py')
CLS_CONFIG = osp.join(REPO, 'configs/cls/lemevit_t_millionaid.py')
UTM = 'EPSG:32633'
TRANSFORM = from_origin(368000.0, 5810000.0, 0.05, 0.05)

infer_tool = load_tool('tools/infer.py')


def write_raster(path, data, transform=TRANSFORM, crs=UTM, nodata=None,
                 **extra):
    """A GeoTIFF (or PNG by extension) of a (C, H, W) array."""
    profile = dict(driver='PNG' if path.endswith('.png') else 'GTiff',
                   width=data.shape[2], height=data.shape[1],
                   count=data.shape[0], dtype=data.dtype, **extra)
    if not path.endswith('.png'):
        profile.update(crs=crs, transform=transform, nodata=nodata)
    with rasterio.open(path, 'w', **profile) as f:
        f.write(data)
    return path


def scene(shape, seed=0, dtype=np.uint8, high=256, channels=3):
    rng = np.random.RandomState(seed)
    return rng.randint(0, high, (channels, *shape)).astype(dtype)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Checkpoints of the (randomly initialised) models of each config,
    written as MMEngine does, built once per config."""
    folder = tmp_path_factory.mktemp('ckpt')
    made = {}

    def make(config):
        if config not in made:
            torch.manual_seed(0)
            model = build_model_from_config(Config.fromfile(config))
            path = str(folder / (osp.basename(config) + '.pth'))
            torch.save(dict(state_dict=model.state_dict(), meta=dict()),
                       path)
            made[config] = path
        return made[config]

    return make


def infer(*args):
    """Run ``tools/infer.py`` in this process; return its exit code."""
    return infer_tool.main([str(a) for a in args] + ['--quiet'])


class PerPixel:
    """A model whose logits at a pixel depend on that pixel's input only
    (a fixed random 1x1 convolution): tiled inference must then give the
    per-pixel answer everywhere."""

    def __init__(self, in_channels, classes, seed=1):
        rng = np.random.RandomState(seed)
        self.weight = rng.randn(classes, in_channels).astype(np.float32)

    def __call__(self, batch):
        return np.einsum('kc,bchw->bkhw', self.weight, batch / 255.)


@pytest.fixture(scope='module')
def seg_inferencer(checkpoints):
    return SegmentationInferencer(SEG_CONFIG, checkpoints(SEG_CONFIG),
                                  batch_size=3, quiet=True)


# ---------------------------------------------------------------------------
# Tiling math
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('size,tile,overlap', [
    ((97, 131), (32, 32), 0),
    ((97, 131), (32, 48), 7),
    ((97, 131), (64, 64), 63),
    ((40, 29), (64, 64), 16),    # a tile larger than the scene
    ((65, 33), (32, 32), 31),
])
def test_tiled_equals_per_pixel(tmp_path, seg_inferencer, size, tile,
                                overlap):
    data = scene(size, seed=size[0] + overlap)
    path = write_raster(str(tmp_path / 'scene.tif'), data)
    model = PerPixel(3, 5)
    result = seg_inferencer._run([path], None, True, tile, overlap,
                                 forward=model)
    # The model sees BGR (the sample config's preprocessor turns it back).
    expected = model(data[None, ::-1].astype(np.float32))[0]
    probs = np.exp(expected - expected.max(0))
    probs /= probs.sum(0)
    np.testing.assert_array_equal(result['labels'], expected.argmax(0))
    np.testing.assert_allclose(result['probs'], probs, atol=1e-5)
    assert result['tiles'] == sum(map(len, tile_grid(*size, tile, overlap)))


def test_tiling_covers_and_never_drops():
    for length, tile, overlap in [(97, 32, 0), (97, 32, 31), (10, 64, 8),
                                  (64, 64, 0), (65, 64, 5)]:
        grid = tile_grid(length, length, (tile, tile), overlap)
        rows = [origins[0][0] for origins in grid]
        covered = np.zeros(length, bool)
        for row in rows:
            covered[row:row + tile] = True
        assert covered.all() and rows[-1] + min(tile, length) == length
        assert all(b - a <= tile - overlap for a, b in zip(rows, rows[1:]))


@pytest.mark.parametrize('dtype', ['uint8', 'uint16', 'float32', 'float16'])
def test_writer_round_trips_each_dtype(tmp_path, dtype):
    """Every output dtype is written losslessly in whole block rows, with
    the georeference of the input (float16 where GDAL writes it)."""
    if dtype == 'float16' and not float16_supported():
        pytest.skip('GDAL < 3.11 writes no Float16 GeoTIFF')
    like = RasterSource(write_raster(str(tmp_path / 'in.tif'),
                                     scene((70, 50))))
    data = (np.random.RandomState(0).rand(2, 70, 50) * 200).astype(dtype)
    out = str(tmp_path / 'out.tif')
    with GeoTiffWriter(out, like, 2, dtype, block_size=32) as writer:
        for row in range(0, 70, 20):  # rows not aligned to the blocks
            writer.append_rows(data[:, row:row + 20])
    with rasterio.open(out) as f:
        assert f.dtypes == (dtype, dtype) and f.crs == UTM
        assert f.transform == TRANSFORM
        np.testing.assert_array_equal(f.read(), data)
    like.close()


# ---------------------------------------------------------------------------
# Segmentation end to end
# ---------------------------------------------------------------------------
def test_segmentation_geotiff(tmp_path, checkpoints, seg_inferencer):
    data = scene((150, 203), seed=3)
    data[:, :20, :30] = 0  # nodata corner
    path = write_raster(str(tmp_path / 'scene.tif'), data, nodata=0)
    out = tmp_path / 'out' / 'classes.tif'
    assert infer(SEG_CONFIG, checkpoints(SEG_CONFIG), path, '-o', out,
                 '--probs', '--tile', 96, 96, '--overlap', 32,
                 '--batch-size', 3) == 0
    with rasterio.open(out) as f:
        assert (f.crs.to_string(), f.transform) == (UTM, TRANSFORM)
        assert (f.width, f.height, f.count, f.dtypes[0]) == \
            (203, 150, 1, 'uint8')
        assert f.nodata == 255 and f.profile['tiled']
        assert f.compression.name.lower() == 'deflate'
        tags = f.tags()
        classes = tags['classes'].split(',')
        assert classes == ['impervious_surface', 'building',
                           'low_vegetation', 'tree', 'car']
        assert f.colormap(1)[0][:3] == (255, 255, 255)  # mmseg's palette
        labels = f.read(1)
    assert (labels[:20, :30] == 255).all()
    assert labels[20:].max() < 5 and labels[:, 30:].max() < 5
    with rasterio.open(tmp_path / 'out' / 'classes_probs.tif') as f:
        assert f.count == 5 and f.crs.to_string() == UTM
        assert [f.descriptions[i] for i in range(5)] == classes
        probs = f.read().astype(np.float32)
    assert np.isnan(probs[:, :20, :30]).all()
    np.testing.assert_allclose(probs[:, 20:].sum(0), 1, atol=5e-3)
    np.testing.assert_array_equal(probs[:, 20:].argmax(0), labels[20:])
    # The API gives the same map in memory.
    memory = seg_inferencer(path, tile=(96, 96), overlap=32)
    np.testing.assert_array_equal(memory['labels'], labels)
    assert not [f for f in os.listdir(tmp_path / 'out')
                if f.startswith('.')]


def test_folder_of_inputs_and_png(tmp_path, checkpoints):
    folder = tmp_path / 'in'
    folder.mkdir()
    write_raster(str(folder / 'a.tif'), scene((70, 90)))
    write_raster(str(folder / 'b.png'), scene((64, 50), seed=1))
    out = tmp_path / 'maps'
    assert infer(SEG_CONFIG, checkpoints(SEG_CONFIG), folder, '-o', out,
                 '--tile', 64, 64) == 0
    # the outputs, and the run record of a folder of inputs
    assert sorted(os.listdir(out)) == ['a.tif', 'b.tif', 'run.json',
                                       'run.jsonl']
    with rasterio.open(out / 'b.tif') as f:
        assert (f.width, f.height) == (50, 64)
        assert f.crs is None  # a PNG has no georeference
    # the glob form
    out2 = tmp_path / 'maps2'
    assert infer(SEG_CONFIG, checkpoints(SEG_CONFIG), f'{folder}/*.tif',
                 '-o', out2, '--tile', 64, 64) == 0
    assert sorted(os.listdir(out2)) == ['a.tif', 'run.json', 'run.jsonl']


def test_uint16_and_band_selection(tmp_path, checkpoints, seg_inferencer,
                                   capsys):
    data = scene((60, 70), seed=4, dtype=np.uint16, high=4000, channels=5)
    path = write_raster(str(tmp_path / 'ms.tif'), data)
    ckpt = checkpoints(SEG_CONFIG)
    # 5 bands for a 3-band model
    assert infer(SEG_CONFIG, ckpt, path, '-o', tmp_path / 'x.tif') == 2
    assert '5 band(s) selected' in capsys.readouterr().err
    # uint16 data against an 8-bit normalisation
    assert infer(SEG_CONFIG, ckpt, path, '-o', tmp_path / 'x.tif',
                 '--bands', 3, 2, 1) == 2
    err = capsys.readouterr().err
    assert 'uint16 values up to' in err and 'data_preprocessor.mean' in err
    assert not osp.exists(tmp_path / 'x.tif')
    # with a normalisation in the data's units the bands 3, 2, 1 are used
    options = ['--cfg-options', 'model.data_preprocessor.mean=[2000,2000,'
               '2000]', 'model.data_preprocessor.std=[1000,1000,1000]']
    assert infer(SEG_CONFIG, ckpt, path, '-o', tmp_path / 'x.tif',
                 '--bands', 3, 2, 1, '--tile', 64, 64, *options) == 0
    with rasterio.open(tmp_path / 'x.tif') as f:
        labels = f.read(1)
    cfg = Config.fromfile(SEG_CONFIG)
    cfg.model.data_preprocessor.update(mean=[2000] * 3, std=[1000] * 3)
    inferencer = SegmentationInferencer(cfg, ckpt, bands=(3, 2, 1),
                                        quiet=True)
    model = PerPixel(3, 5)
    result = inferencer._run([path], None, False, (64, 64), 16,
                             forward=model)
    # band 3, 2, 1 = "RGB", handed over as BGR = bands 1, 2, 3
    expected = model(data[None, :3].astype(np.float32))[0].argmax(0)
    np.testing.assert_array_equal(result['labels'], expected)
    assert labels.shape == (60, 70) and labels.max() < 5


@pytest.mark.parametrize('native_bf16', [True, False])
def test_amp_on_cpu_only_with_native_bf16(checkpoints, monkeypatch,
                                          native_bf16):
    """--amp on a CPU without native bf16 would be emulated, ~10x slower
    than float32: it is dropped with a warning."""
    monkeypatch.setattr(fast_inference, 'ONEDNN_DTYPES', (
        torch.float32, torch.bfloat16) if native_bf16 else (torch.float32, ))
    logged = []
    monkeypatch.setattr(inference_module, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    inferencer = SegmentationInferencer(SEG_CONFIG, checkpoints(SEG_CONFIG),
                                        amp=True, quiet=True)
    with inferencer._autocast():
        assert torch.is_autocast_enabled('cpu') == native_bf16
    assert bool(logged) != native_bf16
    assert all('no native bfloat16' in msg for msg in logged)


def test_refused_inputs(tmp_path, checkpoints, capsys):
    ckpt = checkpoints(SEG_CONFIG)
    good = write_raster(str(tmp_path / 'ok.tif'), scene((40, 40)))
    out = tmp_path / 'o.tif'

    def error(*args):
        assert infer(SEG_CONFIG, *args) == 2
        return capsys.readouterr().err

    assert 'no such file' in error(ckpt, tmp_path / 'missing.tif', '-o',
                                   out)
    (tmp_path / 'broken.tif').write_bytes(b'not a tiff')
    message = error(ckpt, tmp_path / 'broken.tif', '-o', out)
    assert 'broken.tif' in message and 'not a raster' in message
    assert 'band(s) [4] out of range' in error(ckpt, good, '-o', out,
                                               '--bands', 1, 2, 4)
    single = write_raster(str(tmp_path / 'gray.tif'), scene((40, 40))[:1])
    assert 'takes 3' in error(ckpt, single, '-o', out)
    palette = write_raster(str(tmp_path / 'pal.tif'), scene((40, 40))[:1],
                           photometric='palette')
    with rasterio.open(palette, 'r+') as f:
        f.write_colormap(1, {0: (0, 0, 0), 1: (255, 0, 0)})
    assert 'palette' in error(ckpt, palette, '-o', out)
    wrong = checkpoints(CLS_CONFIG)
    message = error(wrong, good, '-o', out)
    assert 'does not fit' in message and 'missing' in message
    assert not osp.exists(out)
    out.write_bytes(b'keep')
    assert '--overwrite' in error(ckpt, good, '-o', out)
    assert out.read_bytes() == b'keep'
    assert infer(SEG_CONFIG, ckpt, good, '-o', out, '--overwrite',
                 '--tile', 64, 64) == 0
    with rasterio.open(out) as f:
        assert f.width == 40


def test_failure_leaves_no_partial_output(tmp_path, seg_inferencer):
    path = write_raster(str(tmp_path / 'scene.tif'), scene((200, 90)))
    calls = []

    def failing(batch):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError('model crashed')
        return PerPixel(3, 5)(batch)

    with pytest.raises(RuntimeError, match='model crashed'):
        seg_inferencer._run([path], str(tmp_path / 'o.tif'), True,
                            (32, 32), 0, forward=failing)
    assert os.listdir(tmp_path) == ['scene.tif']


# ---------------------------------------------------------------------------
# Change detection
# ---------------------------------------------------------------------------
def test_change_detection(tmp_path, checkpoints, capsys):
    ckpt = checkpoints(CD_CONFIG)
    a = write_raster(str(tmp_path / 'a.tif'), scene((100, 120)))
    b = write_raster(str(tmp_path / 'b.tif'), scene((100, 120), seed=5))
    out = tmp_path / 'change.tif'
    assert infer(CD_CONFIG, ckpt, a, b, '-o', out, '--probs', '--tile',
                 64, 64, '--overlap', 16) == 0
    with rasterio.open(out) as f:
        assert (f.crs.to_string(), f.transform) == (UTM, TRANSFORM)
        mask = f.read(1)
        assert f.tags()['classes'] == 'unchanged,changed'
    assert mask.shape == (100, 120) and set(np.unique(mask)) <= {0, 1}
    with rasterio.open(tmp_path / 'change_probs.tif') as f:
        p = f.read(1).astype(np.float32)
    # float16 probabilities (GDAL >= 3.11) round ties near 0.5
    decided = np.abs(p - 0.5) > 1e-3
    assert decided.mean() > 0.95
    np.testing.assert_array_equal((p > 0.5)[decided], (mask == 1)[decided])
    # the per-pixel property holds for two dates too
    inferencer = ChangeInferencer(CD_CONFIG, ckpt, quiet=True)
    model = PerPixel(6, 2)
    result = inferencer._run([a, b], None, False, (64, 64), 40,
                             forward=model,
                             to_labels=inferencer._change_outputs)
    with rasterio.open(a) as fa, rasterio.open(b) as fb:
        # LoadImagePairFromFile hands both dates over in RGB order
        both = np.concatenate([fa.read(), fb.read()])
    expected = model(both[None].astype(np.float32))[0].argmax(0)
    np.testing.assert_array_equal(result['labels'], expected)
    # pairs on different grids are refused, --align resamples B onto A
    shifted = write_raster(
        str(tmp_path / 'b_shift.tif'), scene((100, 120), seed=5),
        transform=from_origin(368001.0, 5810000.0, 0.05, 0.05))
    assert infer(CD_CONFIG, ckpt, a, shifted, '-o', tmp_path / 'x.tif') == 2
    err = capsys.readouterr().err
    assert 'not co-registered' in err and 'transform' in err
    other = write_raster(str(tmp_path / 'b_small.tif'), scene((90, 120)))
    assert infer(CD_CONFIG, ckpt, a, other, '-o', tmp_path / 'x.tif') == 2
    assert 'size 120x100 vs 120x90' in capsys.readouterr().err
    assert infer(CD_CONFIG, ckpt, a, shifted, '-o', tmp_path / 'x.tif',
                 '--align', '--tile', 64, 64) == 0
    with rasterio.open(tmp_path / 'x.tif') as f:
        assert f.transform == TRANSFORM
    assert infer(CD_CONFIG, ckpt, a, '-o', tmp_path / 'y.tif') == 2
    assert 'two inputs' in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Oriented detection
# ---------------------------------------------------------------------------
KNOWN_BOXES = np.array([
    # cx, cy, w, h, angle (radians); labels below
    [100., 60., 40., 16., 0.3],    # inside patch (0, 0) only
    [250., 130., 60., 20., -0.5],  # straddles the border of two patches
    [240., 250., 30., 30., 0.8],   # in the overlap of four patches
    [380., 300., 24., 10., 0.0],
], np.float32)
KNOWN_LABELS = np.array([0, 4, 9, 4])


class KnownBoxes:
    """A stand-in detector that "finds" every known box whose centre lies
    in a patch, at patch coordinates; a box cut by the patch border is
    found with a lower score, as a real detector would."""

    def __init__(self, tile):
        self.tile = tile
        self.origins = []

    def __call__(self, batch, origins):
        outputs = []
        for row, col in origins:
            boxes = KNOWN_BOXES.copy()
            boxes[:, 0] -= col
            boxes[:, 1] -= row
            corners = rbox_corners(boxes)
            inside_patch = ((corners >= 0) & (corners < self.tile)).all(
                (1, 2))
            centre_in = ((boxes[:, :2] >= 0) & (boxes[:, :2] <
                                                self.tile)).all(1)
            keep = centre_in
            scores = np.where(inside_patch, 0.9, 0.5).astype(np.float32)
            jitter = np.where(inside_patch, 0., 1.5)[:, None] * \
                np.array([[1, 0, -2, 0, 0]], np.float32)
            outputs.append((boxes[keep] + jitter[keep], scores[keep],
                            KNOWN_LABELS[keep]))
        return outputs


def test_detection_merges_across_patches(tmp_path, checkpoints,
                                         monkeypatch):
    path = write_raster(str(tmp_path / 'scene.tif'), scene((416, 416)))
    inferencer = RotatedDetectionInferencer(DET_CONFIG, checkpoints(
        DET_CONFIG), quiet=True, score_thr=0.3, batch_size=2)
    fake = KnownBoxes(256)
    origins = iter([o for r in tile_grid(416, 416, (256, 256), 96)
                    for o in r])
    monkeypatch.setattr(
        inferencer, 'detect_patches',
        lambda batch: fake(batch, [next(origins) for _ in batch]))
    out = str(tmp_path / 'boxes.geojson')
    result = inferencer(path, out, tile=(256, 256), overlap=96)
    assert result['tiles'] == 4
    order = np.argsort(result['boxes'][:, 0])
    np.testing.assert_allclose(result['boxes'][order],
                               KNOWN_BOXES[np.argsort(KNOWN_BOXES[:, 0])],
                               atol=1e-4)
    assert sorted(result['labels']) == sorted(KNOWN_LABELS)
    with open(out) as f:
        collection = json.load(f)
    assert collection['crs']['properties']['name'].endswith('32633')
    features = collection['features']
    assert len(features) == 4
    classes = result['classes']
    for feature in features:
        ring = np.array(feature['geometry']['coordinates'][0])
        assert ring.shape == (5, 2) and (ring[0] == ring[-1]).all()
        # TRANSFORM: x = 368000 + 0.05 col, y = 5810000 - 0.05 row
        pixel = np.stack([(ring[:4, 0] - 368000.0) / 0.05,
                          (5810000.0 - ring[:4, 1]) / 0.05], -1)
        match = [i for i, corners in enumerate(rbox_corners(KNOWN_BOXES))
                 if np.allclose(corners, pixel, atol=1e-3)]
        assert len(match) == 1
        assert feature['properties']['class'] == \
            classes[KNOWN_LABELS[match[0]]]
        assert feature['properties']['score'] == pytest.approx(0.9)
    with open(tmp_path / 'boxes_dota.txt') as f:
        lines = [line.split() for line in f]
    assert len(lines) == 4 and all(len(line) == 10 for line in lines)
    assert {line[8] for line in lines} == {classes[i] for i in KNOWN_LABELS}


def test_detection_model_runs(tmp_path, checkpoints):
    path = write_raster(str(tmp_path / 'scene.tif'), scene((300, 280)))
    out = tmp_path / 'det.geojson'
    assert infer(DET_CONFIG, checkpoints(DET_CONFIG), path, '-o', out,
                 '--tile', 256, 256, '--overlap', 64,
                 '--score-thr', 0.0) == 0
    with open(out) as f:
        collection = json.load(f)
    assert collection['type'] == 'FeatureCollection'
    from mmrotate.datasets import DOTADataset
    for feature in collection['features']:
        assert feature['properties']['score'] >= 0
        assert feature['properties']['class'] in \
            DOTADataset.METAINFO['classes']
    with open(tmp_path / 'det_dota.txt') as f:
        assert len(f.readlines()) == len(collection['features'])


# ---------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------
def test_classification_csv_and_class_map(tmp_path, checkpoints):
    ckpt = checkpoints(CLS_CONFIG)
    folder = tmp_path / 'images'
    folder.mkdir()
    write_raster(str(folder / 'one.tif'), scene((120, 140)))
    write_raster(str(folder / 'two.png'), scene((90, 90), seed=2))
    csv_path = tmp_path / 'classes.csv'
    assert infer(CLS_CONFIG, ckpt, folder, '-o', csv_path, '--topk',
                 3) == 0
    with open(csv_path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['file', 'class1', 'score1', 'class2', 'score2',
                       'class3', 'score3']
    assert [osp.basename(r[0]) for r in rows[1:]] == ['one.tif', 'two.png']
    scores = [float(v) for v in rows[1][2::2]]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1
    # a per-tile class map: one pixel per 64x64 tile, georeferenced
    big = write_raster(str(tmp_path / 'scene.tif'), scene((130, 200)))
    out = tmp_path / 'map.tif'
    assert infer(CLS_CONFIG, ckpt, big, '-o', out, '--tile', 64, 64) == 0
    with rasterio.open(out) as f:
        assert (f.height, f.width) == (3, 4)
        assert f.transform == from_origin(368000.0, 5810000.0, 3.2, 3.2)
        assert f.crs.to_string() == UTM
        assert len(f.tags()['classes'].split(',')) == 51
