"""Change reports (:mod:`lemevit_mm.reports`, ``tools/change_report.py``):
object-level change on generated two-date scenes with a detector
stand-in that returns the true boxes, from-to transitions of known class
maps, and quicklooks."""
import csv
import json
import math
import os.path as osp

import numpy as np
import pytest
import rasterio
from affine import Affine

from helpers import REPO, load_tool
from lemevit_mm.geometry import rbox_corners
from lemevit_mm.io.raster import GeoTiffWriter, RasterError, RasterGrid
from lemevit_mm.reports.areas import (AUTHALIC_RADIUS, pixel_size_m,
                                      row_areas_m2)
from lemevit_mm.reports.objects import (match_objects, optimal_pairs,
                                        run_object_report, summary_path)
from lemevit_mm.reports.quicklook import (MAX_SIZE, quicklook_change,
                                          quicklook_class_map,
                                          quicklook_detections,
                                          quicklook_transitions,
                                          read_legend)
from lemevit_mm.reports.transitions import (run_transitions,
                                            transition_matrix)

UTM = 'EPSG:32633'
PIXEL = 0.5  # metres


def from_origin(west, north, x_size, y_size):
    """A north-up transform (rasterio's ``from_origin``, written out)."""
    return Affine(x_size, 0., west, 0., -y_size, north)


TRANSFORM = from_origin(368000.0, 5810000.0, PIXEL, PIXEL)
HEIGHT, WIDTH = 160, 200
CLASSES = ('building', 'ship', 'car')
PALETTE = [(200, 0, 0), (0, 0, 200), (240, 200, 0)]
SEG_CONFIG = osp.join(REPO, 'configs/seg/lemevit_t_upernet_potsdam_sample.py')

change_report = load_tool('tools/change_report.py')


def write_raster(path, data, transform=TRANSFORM, crs=UTM, nodata=None,
                 **kwargs):
    """A GeoTIFF of a (C, H, W) array, written by the project's writer."""
    data = data[None] if data.ndim == 2 else data
    grid = RasterGrid(data.shape[2], data.shape[1], crs, transform)
    with GeoTiffWriter(str(path), grid, data.shape[0], data.dtype.name,
                       nodata=nodata, photometric='MINISBLACK',
                       **kwargs) as writer:
        writer.write(data, 0, 0)
    return str(path)


# ---------------------------------------------------------------------------
# A two-date scene with known objects
# ---------------------------------------------------------------------------
# (box in date A or None, box in date B or None, label A, label B, status,
#  class changed); boxes are cx, cy, w, h, angle in pixels of date A
SCENE = [
    ([30, 30, 24, 16, 0.2], [31, 30, 24, 16, 0.25], 2, 2, 'persisted',
     False),
    ([90, 30, 30, 20, 0.0], [90, 31, 30, 20, 0.0], 0, 1, 'persisted',
     True),                                      # relabelled
    ([150, 30, 20, 10, 0.0], [165, 30, 20, 10, 0.0], 2, 2, 'moved',
     False),                                     # IoU 0.14, 15 px away
    ([40, 110, 26, 14, 0.5], None, 0, None, 'vanished', False),
    (None, [120, 110, 18, 18, 0.7], None, 1, 'appeared', False),
    # moved by 30 px, more than its size: gone and new
    ([170, 135, 12, 6, 0.0], None, 2, None, 'vanished', False),
    (None, [170, 105, 12, 6, 0.0], None, 2, 'appeared', False),
]


def scene_detections():
    """The true boxes of each date (date B in a shuffled order)."""
    a = [(np.array(box_a, float), label_a) for box_a, _, label_a, *_ in
         SCENE if box_a is not None]
    b = [(np.array(box_b, float), label_b) for _, box_b, _, label_b, *_
         in SCENE if box_b is not None]
    b = b[::-1]
    make = [lambda items, s=s: dict(
        boxes=np.array([box for box, _ in items]),
        scores=np.full(len(items), s),
        labels=np.array([label for _, label in items])) for s in
        (0.8, 0.9)]
    return make[0](a), make[1](b)


def scene_images(folder, transform_b=TRANSFORM):
    """Two dates: the objects drawn as bright boxes on a dark ground."""
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    images = []
    for date in (0, 1):
        image = np.full((3, HEIGHT, WIDTH), 40, np.uint8)
        for entry in SCENE:
            box = entry[date]
            if box is None:
                continue
            corners = rbox_corners(np.array([box], float))[0]
            inside = np.ones((HEIGHT, WIDTH), bool)
            for p, q in zip(corners, np.roll(corners, -1, 0)):
                inside &= (q[0] - p[0]) * (rows + .5 - p[1]) - \
                    (q[1] - p[1]) * (cols + .5 - p[0]) >= 0
            image[:, inside] = np.array([[220], [200], [180]])
        images.append(image)
    return (write_raster(folder / 'date_a.tif', images[0]),
            write_raster(folder / 'date_b.tif', images[1],
                         transform=transform_b))


class StandIn:
    """A detector stand-in: the true boxes of each date."""

    def __init__(self, by_path):
        self.by_path = by_path
        self.calls = []

    def __call__(self, path, **kwargs):
        self.calls.append(path)
        return dict(self.by_path[path], classes=CLASSES)


def expected_records():
    return sorted((entry[4], None if entry[2] is None else
                   CLASSES[entry[2]], None if entry[3] is None else
                   CLASSES[entry[3]], entry[5]) for entry in SCENE)


def record_keys(records):
    return sorted((r['status'], r['class_a'], r['class_b'],
                   r['class_changed']) for r in records)


def test_every_status_exactly_right(tmp_path):
    path_a, path_b = scene_images(tmp_path)
    found_a, found_b = scene_detections()
    detect = StandIn({path_a: found_a, path_b: found_b})
    out = str(tmp_path / 'changes.geojson')
    report = run_object_report(path_a, path_b, out, detect, CLASSES)
    assert detect.calls == [path_a, path_b]
    records = report['records']
    assert record_keys(records) == expected_records()
    # each record holds the right objects of the scene
    by_boxes = {(None if a is None else tuple(a), None if b is None else
                 tuple(b)): (status, changed)
                for a, b, _, _, status, changed in SCENE}
    for record in records:
        box_a = None if record['id_a'] is None else \
            tuple(found_a['boxes'][record['id_a']])
        box_b = None if record['id_b'] is None else \
            tuple(found_b['boxes'][record['id_b']])
        assert by_boxes[(box_a, box_b)] == (record['status'],
                                            record['class_changed'])
        assert record['uncertain'] is None  # no change model
        # area in m²: w * h pixels of 0.5 m (date B's box, A's if gone)
        box = box_b if box_b is not None else box_a
        assert record['area_m2'] == pytest.approx(box[2] * box[3] *
                                                  PIXEL ** 2, rel=1e-9)
    moved = [r for r in records if r['status'] == 'moved'][0]
    assert moved['shift_m'] == pytest.approx(15 * PIXEL)
    assert 0 < moved['iou'] < 0.3
    persisted = [r for r in records if r['status'] == 'persisted']
    assert all(r['iou'] >= 0.3 for r in persisted)
    assert report['paths'] == [out, summary_path(out)]


def test_geojson_and_summary(tmp_path):
    path_a, path_b = scene_images(tmp_path)
    found_a, found_b = scene_detections()
    out = str(tmp_path / 'changes.geojson')
    report = run_object_report(path_a, path_b, out,
                               StandIn({path_a: found_a, path_b: found_b}),
                               CLASSES)
    with open(out) as f:
        collection = json.load(f)
    assert collection['crs']['properties']['name'].endswith('32633')
    features = collection['features']
    assert len(features) == len(SCENE)
    for feature, record in zip(features, report['records']):
        props = feature['properties']
        assert set(props) == {
            'status', 'class_a', 'class_b', 'class_changed', 'score_a',
            'score_b', 'iou', 'shift_m', 'change_prob', 'uncertain',
            'area_m2', 'id_a', 'id_b'}
        assert props['status'] == record['status']
        ring = np.array(feature['geometry']['coordinates'][0])
        pixel = np.stack([(ring[:4, 0] - 368000.0) / PIXEL,
                          (5810000.0 - ring[:4, 1]) / PIXEL], -1)
        np.testing.assert_allclose(pixel, record['corners'], atol=1e-6)
        assert props['score_a'] == (None if record['id_a'] is None
                                    else 0.8)
        assert props['score_b'] == (None if record['id_b'] is None
                                    else 0.9)
    with open(summary_path(out)) as f:
        rows = list(csv.DictReader(f))
    assert [r['status'] for r in rows] == ['persisted', 'persisted',
                                           'moved', 'appeared', 'appeared',
                                           'vanished', 'vanished']
    counts = {(r['status'], r['class_a'], r['class_b']): int(r['count'])
              for r in rows}
    assert counts[('persisted', 'building', 'ship')] == 1
    assert counts[('appeared', '', 'car')] == 1
    assert counts[('vanished', 'building', '')] == 1
    area = {(r['status'], r['class_a'], r['class_b']): float(r['area_m2'])
            for r in rows}
    assert area[('appeared', '', 'ship')] == pytest.approx(
        18 * 18 * PIXEL ** 2, abs=1e-3)


def test_change_probability_flags_uncertain(tmp_path):
    path_a, path_b = scene_images(tmp_path)
    found_a, found_b = scene_detections()
    # change only where the ship appeared and around the far car; the
    # vanished building shows none (a detector miss on date B)
    probs = np.zeros((1, HEIGHT, WIDTH), np.float32)
    probs[0, 95:126, 105:136] = 1.      # the ship at (120, 110)
    probs[0, 95:145, 160:180] = 0.9     # the car gone and come back
    probs[0, :5] = np.nan               # nodata rows are left out
    probs_path = write_raster(tmp_path / 'probs.tif', probs,
                              nodata=float('nan'))
    calls = []

    def change(a, b, stem):
        calls.append((a, b, stem))
        return probs_path

    out = str(tmp_path / 'changes.geojson')
    report = run_object_report(path_a, path_b, out,
                               StandIn({path_a: found_a, path_b: found_b}),
                               CLASSES, change=change)
    assert calls == [(path_a, path_b, str(tmp_path / 'changes'))]
    by_status = {}
    for record in report['records']:
        by_status.setdefault(record['status'], []).append(record)
    ship = [r for r in by_status['appeared'] if r['class_b'] == 'ship'][0]
    assert ship['change_prob'] == pytest.approx(1.)
    assert ship['uncertain'] is False
    building = [r for r in by_status['vanished']
                if r['class_a'] == 'building'][0]
    assert building['change_prob'] == pytest.approx(0.)
    assert building['uncertain'] is True
    cars = [r for r in by_status['vanished'] + by_status['appeared']
            if 'car' in (r['class_a'], r['class_b'])]
    assert [r['change_prob'] for r in cars] == pytest.approx([0.9, 0.9])
    assert not any(r['uncertain'] for r in cars)
    assert all(r['uncertain'] is False for r in by_status['persisted'] +
               by_status['moved'])
    assert report['paths'][0] == probs_path


@pytest.mark.parametrize('pixel_b,offset', [(PIXEL, (10, 6)),
                                            (1.0, (-7, 12))])
def test_align_moves_date_b_onto_date_a(tmp_path, pixel_b, offset):
    """Date B on another grid (shifted origin, other pixel size): its
    boxes are found in its own pixels and moved onto date A's grid."""
    origin = (368000.0 + offset[0] * PIXEL, 5810000.0 - offset[1] * PIXEL)
    transform_b = from_origin(*origin, pixel_b, pixel_b)
    path_a, path_b = scene_images(tmp_path, transform_b)
    found_a, found_b = scene_detections()
    scale = PIXEL / pixel_b
    boxes_b = found_b['boxes'].copy()
    boxes_b[:, 0] = (boxes_b[:, 0] - offset[0]) * scale
    boxes_b[:, 1] = (boxes_b[:, 1] - offset[1]) * scale
    boxes_b[:, 2:4] *= scale
    detect = StandIn({path_a: found_a, path_b: dict(found_b,
                                                    boxes=boxes_b)})
    out = str(tmp_path / 'changes.geojson')
    if pixel_b == PIXEL:
        with pytest.raises(RasterError, match='not co-registered'):
            run_object_report(path_a, path_b, out, detect, CLASSES)
    report = run_object_report(path_a, path_b, out, detect, CLASSES,
                               align=True)
    assert record_keys(report['records']) == expected_records()


def test_optimal_assignment_beats_greedy():
    # A0 overlaps B0 most, but A1 overlaps only B0: the greedy choice of
    # the best pair (A0-B0) leaves A1 and B1 unmatched
    boxes_a = np.array([[0, 0, 10, 10, 0], [6, 0, 10, 10, 0]], float)
    boxes_b = np.array([[2, 0, 10, 10, 0], [-4, 0, 10, 10, 0]], float)
    labels = np.zeros(2, int)
    from lemevit_mm.geometry import rotated_iou_matrix
    iou = rotated_iou_matrix(boxes_a, boxes_b)
    np.testing.assert_allclose(iou, [[80 / 120, 60 / 140],
                                     [60 / 140, 0]], atol=1e-9)
    greedy, used_a, used_b = [], set(), set()
    for i, j in sorted(np.ndindex(iou.shape), key=lambda p: -iou[p]):
        if iou[i, j] >= 0.3 and i not in used_a and j not in used_b:
            greedy.append((i, j))
            used_a.add(i)
            used_b.add(j)
    assert greedy == [(0, 0)]
    assert optimal_pairs(iou, iou >= 0.3) == [(0, 1), (1, 0)]
    records = match_objects(boxes_a, labels, boxes_b, labels,
                            iou_threshold=0.3, move_distance=0)
    assert [(r['status'], r['a'], r['b']) for r in records] == [
        ('persisted', 0, 1), ('persisted', 1, 0)]
    # with as many pairs either way, the larger IoU sum wins
    weight = np.array([[0.9, 0.5], [0.5, 0.8]])
    assert optimal_pairs(weight, weight > 0) == [(0, 0), (1, 1)]
    # independent groups of a large scene are solved apart, same answer
    far = boxes_a + [1000, 0, 0, 0, 0]
    both = match_objects(np.concatenate([boxes_a, far]), np.zeros(4, int),
                         np.concatenate([boxes_b, boxes_b + [1000, 0, 0, 0,
                                                             0]]),
                         np.zeros(4, int), move_distance=0)
    assert [(r['a'], r['b']) for r in both] == [(0, 1), (1, 0), (2, 3),
                                                (3, 2)]


def test_cross_class_and_move_rules():
    box = np.array([[50, 50, 20, 10, 0.]])
    # same footprint, another class: persisted, class changed
    records = match_objects(box, [0], box, [1])
    assert [(r['status'], r['class_changed']) for r in records] == [
        ('persisted', True)]
    # ... unless cross-class matching is off
    records = match_objects(box, [0], box, [1], cross_class=False)
    assert sorted(r['status'] for r in records) == ['appeared', 'vanished']
    # a shift within the given distance is a move, beyond it is not
    shifted = box + [[25, 0, 0, 0, 0]]
    assert [r['status'] for r in match_objects(
        box, [0], shifted, [0], move_distance=30)] == ['moved']
    assert sorted(r['status'] for r in match_objects(
        box, [0], shifted, [0], move_distance=20)) == ['appeared',
                                                       'vanished']
    # nothing on either date
    assert match_objects(np.zeros((0, 5)), [], np.zeros((0, 5)), []) == []


def test_areas_from_the_transform_and_crs():
    rows = np.arange(3)
    np.testing.assert_allclose(row_areas_m2(TRANSFORM, rasterio.crs.CRS
                                            .from_string(UTM), rows), 0.25)
    # feet: a US survey foot CRS (EPSG:2263, New York Long Island)
    feet = rasterio.crs.CRS.from_epsg(2263)
    area = row_areas_m2(from_origin(0, 0, 2, 2), feet, rows)
    np.testing.assert_allclose(area, 4 * 0.3048006096 ** 2, rtol=1e-6)
    # degrees: a 1 x 1 degree cell at the equator on the authalic sphere
    wgs84 = rasterio.crs.CRS.from_epsg(4326)
    cell = row_areas_m2(from_origin(10, 1, 1, 1), wgs84, np.array([0]))
    assert cell[0] == pytest.approx(
        AUTHALIC_RADIUS ** 2 * math.radians(1) * math.sin(math.radians(1)))
    assert cell[0] == pytest.approx(1.2364e10, rel=1e-3)
    assert pixel_size_m(from_origin(10, 60, 1e-3, 1e-3), wgs84, 0) == \
        pytest.approx(55.6, rel=1e-2)  # 111 km * cos(60 degrees) / 1000
    assert row_areas_m2(TRANSFORM, None, rows) is None


# ---------------------------------------------------------------------------
# From-to transitions
# ---------------------------------------------------------------------------
KNOWN_A = np.array([[0, 0, 1, 2, 2],
                    [1, 1, 255, 2, 0],
                    [2, 0, 1, 1, 1]], np.uint8)
KNOWN_B = np.array([[0, 2, 1, 2, 255],
                    [2, 1, 0, 2, 0],
                    [2, 0, 1, 2, 1]], np.uint8)
# counted by hand, nodata (255) of either date left out
KNOWN_MATRIX = np.array([[3, 0, 1],
                         [0, 4, 2],
                         [0, 0, 3]])
LAND = ['water', 'trees', 'built']


def class_map(path, labels, classes=LAND, transform=TRANSFORM, crs=UTM):
    return write_raster(path, labels, transform, crs, nodata=255,
                        tags=dict(classes=','.join(classes)),
                        colormap={i: (*c, 255) for i, c in
                                  enumerate(PALETTE)})


def test_known_transitions(tmp_path):
    a = class_map(tmp_path / 'a.tif', KNOWN_A)
    b = class_map(tmp_path / 'b.tif', KNOWN_B)
    report = run_transitions(a, b, str(tmp_path / 'report'), block_rows=2)
    assert report['classes'] == LAND
    np.testing.assert_array_equal(report['pixels'], KNOWN_MATRIX)
    np.testing.assert_allclose(report['m2'], KNOWN_MATRIX * 0.25)
    with open(tmp_path / 'report' / 'transition_matrix_pixels.csv') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['from \\ to', 'water', 'trees', 'built', 'total']
    assert rows[1] == ['water', '3', '0', '1', '4']
    assert rows[-1] == ['total', '3', '4', '6', '13']
    with open(tmp_path / 'report' / 'transition_matrix_m2.csv') as f:
        assert list(csv.reader(f))[2] == ['trees', '0.000', '1.000',
                                          '0.500', '1.500']
    with open(tmp_path / 'report' / 'class_areas.csv') as f:
        areas = list(csv.DictReader(f))
    assert [(r['class'], r['pixels_a'], r['pixels_b'], r['change_m2'])
            for r in areas] == [('water', '4', '3', '-0.250'),
                                ('trees', '6', '4', '-0.500'),
                                ('built', '3', '6', '0.750')]
    with rasterio.open(tmp_path / 'report' / 'transitions.tif') as f:
        codes = f.read(1)
        assert f.dtypes[0] == 'uint8' and f.nodata == 255
        assert f.crs.to_string() == UTM and f.transform == TRANSFORM
        tags = f.tags()
        assert tags['transition_5'] == 'trees -> built'
        assert tags['num_classes'] == '3'
        table = f.colormap(1)
    valid = (KNOWN_A != 255) & (KNOWN_B != 255)
    expected = np.where(valid, KNOWN_A.astype(int) * 3 + KNOWN_B, 255)
    np.testing.assert_array_equal(codes, expected)
    assert table[5][:3] == PALETTE[2]            # became built
    assert table[4][:3] != PALETTE[1]            # unchanged trees: faded
    assert table[255][3] == 0


def test_streamed_equals_in_memory_odd_sizes(tmp_path):
    rng = np.random.RandomState(0)
    a = rng.randint(0, 5, (37, 53)).astype(np.uint8)
    b = rng.randint(0, 5, (37, 53)).astype(np.uint8)
    a[rng.rand(37, 53) < 0.1] = 255
    b[rng.rand(37, 53) < 0.1] = 255
    names = [f'c{i}' for i in range(5)]
    path_a = class_map(tmp_path / 'a.tif', a, names)
    path_b = class_map(tmp_path / 'b.tif', b, names)
    valid = (a != 255) & (b != 255)
    expected = transition_matrix(a, b, 5, valid)
    for block_rows in (1, 5, 16, 64):
        report = run_transitions(path_a, path_b,
                                 str(tmp_path / f'r{block_rows}'),
                                 block_rows=block_rows)
        np.testing.assert_array_equal(report['pixels'], expected)
    assert expected.sum() == valid.sum()
    # a geographic grid: per-row areas on the sphere, streamed the same
    wgs84 = from_origin(13.0, 52.5, 1e-3, 1e-3)
    path_a = class_map(tmp_path / 'ga.tif', a, names, wgs84, 'EPSG:4326')
    path_b = class_map(tmp_path / 'gb.tif', b, names, wgs84, 'EPSG:4326')
    report = run_transitions(path_a, path_b, str(tmp_path / 'geo'),
                             block_rows=8)
    areas = row_areas_m2(wgs84, rasterio.crs.CRS.from_epsg(4326),
                         np.arange(37))
    weights = np.broadcast_to(areas[:, None], a.shape)
    np.testing.assert_allclose(report['m2'],
                               transition_matrix(a, b, 5, valid, weights))
    assert 7000 < areas[0] < 7700  # 111 m x 68 m near 52.5 N


def test_transitions_memory_does_not_grow_with_the_maps(tmp_path):
    """Only blocks of rows are held: the traced peak stays far below one
    map (6 MB here), let alone the pair or their codes (48 MB)."""
    import tracemalloc
    rows = np.arange(3000)[:, None] // 50 % 4
    cols = np.arange(2000)[None] // 70 % 4
    a = class_map(tmp_path / 'a.tif', (rows + cols).astype(np.uint8) % 4,
                  ['w', 'x', 'y', 'z'])
    b = class_map(tmp_path / 'b.tif', (rows * cols).astype(np.uint8) % 4,
                  ['w', 'x', 'y', 'z'])
    tracemalloc.start()
    try:
        report = run_transitions(a, b, str(tmp_path / 'r'), block_rows=32)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report['pixels'].sum() == 3000 * 2000
    assert peak < 3e6, peak

def test_transitions_nodata_align_and_errors(tmp_path):
    a = class_map(tmp_path / 'a.tif', KNOWN_A)
    # no classes tag, no nodata metadata: names from the values, --nodata
    b_plain = write_raster(tmp_path / 'b_plain.tif', KNOWN_B)
    report = run_transitions(a, b_plain, str(tmp_path / 'r1'), nodata=255,
                             classes=LAND)
    np.testing.assert_array_equal(report['pixels'], KNOWN_MATRIX)
    with pytest.raises(RasterError, match='value 255'):
        run_transitions(a, b_plain, str(tmp_path / 'r2'), classes=LAND)
    # map B on another grid
    shifted = from_origin(368000.0 + PIXEL, 5810000.0, PIXEL, PIXEL)
    b_shifted = class_map(tmp_path / 'b_shift.tif', KNOWN_B,
                          transform=shifted)
    with pytest.raises(RasterError, match='not co-registered'):
        run_transitions(a, b_shifted, str(tmp_path / 'r3'))
    report = run_transitions(a, b_shifted, str(tmp_path / 'r4'),
                             align=True)
    # B moved one pixel east: A's column c meets B's column c - 1
    aligned_b = np.full_like(KNOWN_B, 255)
    aligned_b[:, 1:] = KNOWN_B[:, :-1]
    valid = (KNOWN_A != 255) & (aligned_b != 255)
    np.testing.assert_array_equal(
        report['pixels'], transition_matrix(KNOWN_A, aligned_b, 3, valid))
    other = class_map(tmp_path / 'other.tif', KNOWN_B,
                      classes=['a', 'b', 'c'])
    with pytest.raises(RasterError, match='name different classes'):
        run_transitions(a, other, str(tmp_path / 'r5'))


# ---------------------------------------------------------------------------
# Quicklooks
# ---------------------------------------------------------------------------
def png_size(path):
    from PIL import Image
    with Image.open(path) as image:
        return image.size, np.asarray(image.convert('RGB'))


def test_quicklook_of_each_output_type(tmp_path):
    path_a, path_b = scene_images(tmp_path)
    labels = (np.arange(HEIGHT * WIDTH).reshape(HEIGHT, WIDTH) // 7 % 3) \
        .astype(np.uint8)
    labels[:10] = 255
    seg = class_map(tmp_path / 'seg.tif', labels, list(CLASSES))
    done = quicklook_class_map(seg, str(tmp_path / 'seg.png'), CLASSES,
                               PALETTE, image=path_a)
    assert read_legend(done['path']) == list(CLASSES) == done['legend']
    change = write_raster(tmp_path / 'change.tif',
                          (labels == 1).astype(np.uint8))
    done = quicklook_change(change, str(tmp_path / 'change.png'),
                            image=path_b)
    assert read_legend(done['path']) == ['changed']
    found_a, _ = scene_detections()
    done = quicklook_detections(path_a, rbox_corners(found_a['boxes']),
                                found_a['labels'], CLASSES, PALETTE,
                                str(tmp_path / 'det.png'))
    assert read_legend(done['path']) == list(CLASSES)
    out = str(tmp_path / 'changes.geojson')
    report = run_object_report(
        path_a, path_b, out, StandIn(dict(zip((path_a, path_b),
                                              scene_detections()))),
        CLASSES, preview=True)
    png = report['paths'][-1]
    assert png == str(tmp_path / 'changes.png')
    assert read_legend(png) == ['persisted', 'class changed', 'moved',
                                'appeared', 'vanished']
    size, pixels = png_size(png)
    # the input shows through (bright objects on a dark ground)
    assert pixels.std() > 20
    a = class_map(tmp_path / 'ta.tif', KNOWN_A)
    b = class_map(tmp_path / 'tb.tif', KNOWN_B)
    report = run_transitions(a, b, str(tmp_path / 'report'), preview=True)
    png = report['paths'][-1]
    assert png.endswith('transitions.png')
    assert read_legend(png) == ['trees \u2192 built', 'water \u2192 built']
    for name in ('seg', 'change', 'det', 'changes'):
        size, _ = png_size(tmp_path / f'{name}.png')
        assert max(size) <= MAX_SIZE and min(size) > 100


def test_quicklooks_of_inference_results(tmp_path):
    """What ``tools/infer.py --preview`` writes for each task's output."""
    from lemevit_mm.reports.quicklook import quicklooks_of_result
    path_a, path_b = scene_images(tmp_path)
    labels = np.zeros((HEIGHT, WIDTH), np.uint8)
    labels[:, 100:] = 2
    seg = class_map(tmp_path / 'seg.tif', labels, list(CLASSES))
    assert quicklooks_of_result('seg', [path_a], dict(paths=[seg]),
                                CLASSES, PALETTE) == [
        str(tmp_path / 'seg.png')]
    assert read_legend(tmp_path / 'seg.png') == list(CLASSES)
    change = write_raster(tmp_path / 'cd.tif', (labels > 0).astype(
        np.uint8))
    assert quicklooks_of_result('cd', [path_a, path_b], dict(
        paths=[change, str(tmp_path / 'cd_probs.tif')]),
        ('unchanged', 'changed'), [(0, 0, 0), (255, 255, 255)]) == [
        str(tmp_path / 'cd.png')]
    found_a, _ = scene_detections()
    det = dict(paths=[str(tmp_path / 'det.geojson')],
               boxes=found_a['boxes'], labels=found_a['labels'])
    assert quicklooks_of_result('det', [path_a], det, CLASSES,
                                PALETTE) == [str(tmp_path / 'det.png')]
    assert read_legend(tmp_path / 'det.png') == list(CLASSES)
    # a per-tile class map on a coarser grid, over the full input
    coarse = class_map(tmp_path / 'tiles.tif', labels[::40, ::40],
                       list(CLASSES),
                       from_origin(368000.0, 5810000.0, 40 * PIXEL,
                                   40 * PIXEL))
    assert quicklooks_of_result('cls', [path_a], dict(paths=[coarse]),
                                CLASSES, PALETTE) == [
        str(tmp_path / 'tiles.png')]
    # a classification table has no picture
    assert quicklooks_of_result('cls', [path_a], dict(
        paths=[str(tmp_path / 'classes.csv')]), CLASSES, PALETTE) == []

def test_quicklook_bounded_on_a_large_raster(tmp_path):
    labels = np.zeros((2600, 3100), np.uint8)
    labels[:, 1500:] = 1
    labels[1000:1200] = 2
    path = class_map(tmp_path / 'big.tif', labels, list(CLASSES))
    done = quicklook_class_map(path, str(tmp_path / 'big.png'), CLASSES,
                               PALETTE)
    size, pixels = png_size(done['path'])
    assert size == done['size'] == (2048, 1718)
    # the class colours are there, decimated to the picture
    assert (pixels[900, 1500] == PALETTE[1]).all()
    assert (pixels[300, 300] == PALETTE[0]).all()
    # a transition legend names the given counts' changes
    counts = np.zeros((3, 3))
    counts[0, 1] = 5
    done = quicklook_transitions(
        class_map(tmp_path / 'codes.tif', labels[::20, ::20],
                  list(CLASSES)), str(tmp_path / 'codes.png'), CLASSES,
        PALETTE, counts)
    assert done['legend'] == ['building \u2192 ship']


def test_quicklook_of_uint16_multiband_input(tmp_path):
    rng = np.random.RandomState(0)
    image = (rng.rand(5, 90, 70) * [[[1000]], [[3000]], [[6000]], [[9000]],
                                   [[12000]]]).astype(np.uint16)
    path = write_raster(tmp_path / 's2.tif', image)
    change = write_raster(tmp_path / 'c.tif', np.zeros((90, 70), np.uint8))
    done = quicklook_change(change, str(tmp_path / 'c.png'), image=path,
                            bands=[4, 3, 2])
    size, pixels = png_size(done['path'])
    assert max(size) >= 640  # enlarged for a readable legend
    # the stretch uses the whole range of each band: no black picture
    assert pixels.mean() > 60
    with pytest.raises(ValueError, match='out of range'):
        quicklook_change(change, str(tmp_path / 'd.png'), image=path,
                         bands=[6, 3, 2])


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------
def report_cli(*args):
    return change_report.main([str(a) for a in args] + ['--quiet'])


def test_cli_classes_from_maps(tmp_path, capsys):
    a = class_map(tmp_path / 'a.tif', KNOWN_A)
    b = class_map(tmp_path / 'b.tif', KNOWN_B)
    out = tmp_path / 'report'
    assert report_cli('classes', '--maps', a, b, '-o', out,
                      '--preview') == 0
    with open(out / 'transition_matrix_pixels.csv') as f:
        rows = list(csv.reader(f))
    assert [r[1:4] for r in rows[1:4]] == KNOWN_MATRIX.astype(str).tolist()
    assert osp.isfile(out / 'transitions.png')
    # existing outputs are refused without --overwrite
    assert report_cli('classes', '--maps', a, b, '-o', out) == 2
    assert 'output exists' in capsys.readouterr().err
    assert report_cli('classes', '--maps', a, b, '-o', out,
                      '--overwrite') == 0
    assert report_cli('classes', '--maps', a, tmp_path / 'none.tif', '-o',
                      tmp_path / 'x') == 2
    assert 'none.tif: no such file' in capsys.readouterr().err


class StandInInferencer(StandIn):
    task = 'det'
    classes = CLASSES

    def palette(self):
        return PALETTE


def test_cli_objects_with_a_stand_in(tmp_path, monkeypatch):
    path_a, path_b = scene_images(tmp_path)
    stand_in = StandInInferencer(dict(zip((path_a, path_b),
                                          scene_detections())))
    built = []

    def fake_inferencer(config, checkpoint, args, task, **extra):
        built.append((config, task, extra))
        return stand_in

    monkeypatch.setattr(change_report, '_inferencer', fake_inferencer)
    out = tmp_path / 'changes.geojson'
    assert report_cli('objects', 'det.py', 'det.pth', path_a, path_b, '-o',
                      out, '--iou', 0.3, '--score-thr', 0.25,
                      '--preview') == 0
    assert built == [('det.py', 'det', dict(score_thr=0.25))]
    with open(out) as f:
        statuses = sorted(feat['properties']['status']
                          for feat in json.load(f)['features'])
    assert statuses == sorted(entry[4] for entry in SCENE)
    assert osp.isfile(tmp_path / 'changes_summary.csv')
    assert osp.isfile(tmp_path / 'changes.png')


@pytest.fixture(scope='module')
def checkpoint_of(tmp_path_factory):
    """Checkpoints of the randomly initialised models of configs."""
    import torch
    from mmengine.config import Config

    from lemevit_mm.apis import build_model_from_config
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


@pytest.mark.slow
def test_cli_classes_with_a_segmentor(tmp_path, checkpoint_of):
    from mmengine.config import Config
    rng = np.random.RandomState(1)
    a = write_raster(tmp_path / 'a.tif',
                     rng.randint(0, 256, (3, 70, 90)).astype(np.uint8))
    b = write_raster(tmp_path / 'b.tif',
                     rng.randint(0, 256, (3, 70, 90)).astype(np.uint8))
    out = tmp_path / 'report'
    assert report_cli('classes', SEG_CONFIG, checkpoint_of(SEG_CONFIG), a,
                      b, '-o', out, '--preview') == 0
    # the config's classes (its test set's metainfo: five scored ones)
    classes = list(Config.fromfile(SEG_CONFIG).test_dataloader.dataset
                   .metainfo.classes)
    assert len(classes) == 5
    for name in ('classes_a', 'classes_b'):
        assert read_legend(out / f'{name}.png') == classes
    with rasterio.open(out / 'classes_a.tif') as f:
        map_a = f.read(1)
    with rasterio.open(out / 'classes_b.tif') as f:
        map_b = f.read(1)
    with open(out / 'transition_matrix_pixels.csv') as f:
        rows = list(csv.reader(f))
    assert rows[0][1:-1] == classes
    matrix = np.array([[int(v) for v in r[1:-1]] for r in rows[1:-1]])
    np.testing.assert_array_equal(
        matrix, transition_matrix(map_a, map_b, len(classes)))
    assert matrix.sum() == 70 * 90
    assert osp.isfile(out / 'transitions.png')



@pytest.mark.slow
def test_infer_preview(tmp_path, checkpoint_of):
    """``tools/infer.py --preview``: the quicklook beside the class map,
    its legend the config's classes."""
    from mmengine.config import Config
    infer = load_tool('tools/infer.py')
    rng = np.random.RandomState(3)
    scene = write_raster(tmp_path / 'scene.tif',
                         rng.randint(0, 256, (3, 80, 100)).astype(np.uint8))
    out = tmp_path / 'classes.tif'
    assert infer.main([SEG_CONFIG, checkpoint_of(SEG_CONFIG), scene, '-o',
                       str(out), '--preview', '--quiet']) == 0
    classes = list(Config.fromfile(SEG_CONFIG).test_dataloader.dataset
                   .metainfo.classes)
    assert read_legend(tmp_path / 'classes.png') == classes
    size, _ = png_size(tmp_path / 'classes.png')
    assert max(size) <= MAX_SIZE


@pytest.mark.slow
def test_cli_objects_with_a_change_model(tmp_path, monkeypatch,
                                         checkpoint_of):
    """The detector stand-in with the real (randomly initialised) BIT
    change detector: its probability raster is written and read back
    inside every polygon."""
    cd_config = osp.join(REPO, 'configs/cd/lemevit_t_bit_cdd.py')
    path_a, path_b = scene_images(tmp_path)
    stand_in = StandInInferencer(dict(zip((path_a, path_b),
                                          scene_detections())))
    real = change_report._inferencer

    def some_real(config, checkpoint, args, task, **extra):
        if task == 'det':
            return stand_in
        return real(config, checkpoint, args, task, **extra)

    monkeypatch.setattr(change_report, '_inferencer', some_real)
    out = tmp_path / 'changes.geojson'
    assert report_cli('objects', 'det.py', 'det.pth', path_a, path_b, '-o',
                      out, '--change', cd_config, checkpoint_of(cd_config),
                      '--tile', 128, 128, '--overlap', 32) == 0
    with rasterio.open(tmp_path / 'changes_change_probs.tif') as f:
        probs = f.read(1).astype(np.float64)
        assert (f.height, f.width) == (HEIGHT, WIDTH)
    with open(out) as f:
        features = json.load(f)['features']
    assert len(features) == len(SCENE)
    for feature in features:
        props = feature['properties']
        assert 0 <= props['change_prob'] <= 1
        assert isinstance(props['uncertain'], bool)
        assert props['uncertain'] == (
            props['status'] in ('appeared', 'vanished') and
            props['change_prob'] < 0.5)
    assert np.isfinite(probs).all()
    assert osp.isfile(tmp_path / 'changes_change.tif')
