"""Rotated-box geometry in numpy (:mod:`lemevit_mm.geometry`): corners,
areas, exact rotated IoU and rotated NMS, checked by hand-computed cases,
a fine raster count and mmcv's own operators."""
import math

import numpy as np
import pytest

from lemevit_mm.geometry import (nms_rotated, polygon_area, rbox_area,
                                 rbox_corners, rotated_iou_matrix,
                                 rotated_iou_pairs)


def random_boxes(n, seed, extent=60., size=(2., 25.)):
    rng = np.random.RandomState(seed)
    return np.concatenate([
        rng.uniform(0, extent, (n, 2)), rng.uniform(*size, (n, 2)),
        rng.uniform(-math.pi, math.pi, (n, 1))], 1)


def raster_iou(a, b, step=0.04):
    """IoU of two boxes by counting the centres of a fine grid."""
    corners = rbox_corners(np.stack([a, b]))
    low, high = corners.min((0, 1)), corners.max((0, 1))
    xs = np.arange(low[0], high[0], step) + step / 2
    ys = np.arange(low[1], high[1], step) + step / 2
    points = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    inside = []
    for polygon in corners:
        edges = np.roll(polygon, -1, 0) - polygon
        rel = points[:, None] - polygon[None]
        side = edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * \
            rel[..., 0]
        inside.append((side >= 0).all(1) | (side <= 0).all(1))
    union = (inside[0] | inside[1]).sum()
    return (inside[0] & inside[1]).sum() / union if union else 0.


def test_rbox_corners_clockwise_in_image_coordinates():
    corners = rbox_corners(np.array([[10., 20., 4., 2., 0.],
                                     [0., 0., 4., 2., math.pi / 2]]))
    np.testing.assert_allclose(
        corners[0], [[8, 19], [12, 19], [12, 21], [8, 21]])
    # a quarter turn: the width runs down the image (rows grow)
    np.testing.assert_allclose(
        corners[1], [[1, -2], [1, 2], [-1, 2], [-1, -2]], atol=1e-12)
    assert corners.shape == (2, 4, 2)


def test_polygon_area_shoelace():
    assert polygon_area(np.array([[0, 0], [4, 0], [0, 3]])) == 6
    # either vertex order, many polygons at once
    square = np.array([[0, 0], [0, 2], [2, 2], [2, 0]], float)
    np.testing.assert_allclose(polygon_area(np.stack([square,
                                                      square[::-1]])), 4)
    boxes = random_boxes(50, seed=3)
    np.testing.assert_allclose(polygon_area(rbox_corners(boxes)),
                               rbox_area(boxes), rtol=1e-12)
    # UTM-sized coordinates keep their precision
    utm = rbox_corners(np.array([[368000.5, 5810000.25, 3., 7., 0.4]]))
    assert polygon_area(utm)[0] == pytest.approx(21., abs=1e-7)


@pytest.mark.parametrize('a,b,expected', [
    ([0, 0, 2, 2, 0], [0, 0, 2, 2, 0], 1.),
    ([0, 0, 2, 2, 0], [1, 0, 2, 2, 0], 2 / 6),
    ([0, 0, 2, 2, 0], [3, 0, 2, 2, 0], 0.),        # apart
    ([0, 0, 2, 2, 0], [2, 0, 2, 2, 0], 0.),        # touching edges
    ([0, 0, 4, 4, 0.3], [0, 0, 2, 2, 0.3], 4 / 16),  # one inside the other
    # a square and the same square turned by 45 degrees: an octagon
    ([0, 0, 2, 2, 0], [0, 0, 2, 2, math.pi / 4],
     8 * (math.sqrt(2) - 1) / (8 - 8 * (math.sqrt(2) - 1))),
    ([0, 0, 2, 2, 0], [0, 0, 2, 2, math.pi / 2], 1.),   # same footprint
    ([0, 0, 0, 2, 0], [0, 0, 2, 2, 0], 0.),        # no area
    # shifted along a turned box, far from the origin (a UTM position)
    ([1e6, 5e6, 4, 2, 0.1], [1e6 + 1, 5e6, 4, 2, 0.1],
     (4 - math.cos(.1)) * (2 - math.sin(.1)) /
     (16 - (4 - math.cos(.1)) * (2 - math.sin(.1)))),
])
def test_rotated_iou_known_cases(a, b, expected):
    a, b = np.array([a], float), np.array([b], float)
    assert rotated_iou_pairs(a, b)[0] == pytest.approx(expected, abs=1e-9)
    assert rotated_iou_pairs(b, a)[0] == pytest.approx(expected, abs=1e-9)


def test_rotated_iou_matches_a_raster_count():
    a = random_boxes(40, seed=1, extent=30., size=(3., 12.))
    b = random_boxes(40, seed=2, extent=30., size=(3., 12.))
    matrix = rotated_iou_matrix(a, b)
    rng = np.random.RandomState(0)
    overlapping = np.argwhere(matrix > 0.05)
    for i, j in overlapping[rng.permutation(len(overlapping))[:10]]:
        assert matrix[i, j] == pytest.approx(raster_iou(a[i], b[j]),
                                             abs=0.01)


def test_rotated_iou_matrix_shape_symmetry_and_pairs():
    a, b = random_boxes(30, seed=4), random_boxes(20, seed=5)
    matrix = rotated_iou_matrix(a, b)
    assert matrix.shape == (30, 20)
    assert ((matrix >= 0) & (matrix <= 1)).all() and (matrix > 0).any()
    np.testing.assert_allclose(matrix, rotated_iou_matrix(b, a).T,
                               atol=1e-12)
    np.testing.assert_allclose(np.diag(rotated_iou_matrix(a, a)), 1,
                               atol=1e-12)
    rows, cols = np.arange(20), np.arange(20)[::-1]
    np.testing.assert_allclose(rotated_iou_pairs(a[rows], b[cols]),
                               matrix[rows, cols], atol=1e-12)
    assert rotated_iou_matrix(a[:0], b).shape == (0, 20)


def test_nms_keeps_by_falling_score_per_class():
    boxes = np.array([[0, 0, 10, 10, 0],
                      [1, 0, 10, 10, 0],     # IoU 0.82 with the first
                      [1, 0, 10, 10, 0],     # same place, another class
                      [30, 0, 10, 10, 0],
                      [0, 0, 10, 10, 0]], float)  # identical, tie score
    scores = np.array([0.9, 0.95, 0.5, 0.2, 0.9])
    labels = np.array([0, 0, 1, 0, 0])
    keep = nms_rotated(boxes, scores, labels, iou_threshold=0.5)
    assert keep.tolist() == [1, 2, 3]
    assert keep.dtype == np.int64
    # without labels, one class: box 2 goes too
    assert nms_rotated(boxes, scores, None, 0.5).tolist() == [1, 3]
    # IoU >= threshold suppresses: identical boxes at threshold 1
    assert nms_rotated(boxes[[0, 4]], scores[[0, 4]], None, 1.).tolist() \
        == [0]
    # a high threshold keeps the overlapping ones
    assert nms_rotated(boxes, scores, labels, 0.9).tolist() == [1, 0, 2, 3]
    assert nms_rotated(np.zeros((0, 5)), np.zeros(0)).tolist() == []
    with pytest.raises(ValueError, match='3 scores'):
        nms_rotated(boxes, scores[:3])


def test_iou_and_nms_equal_mmcv():
    torch = pytest.importorskip('torch')
    ops = pytest.importorskip('mmcv.ops')
    a, b = random_boxes(60, seed=6), random_boxes(50, seed=7)
    expected = ops.box_iou_rotated(torch.from_numpy(a).float(),
                                   torch.from_numpy(b).float()).numpy()
    np.testing.assert_allclose(rotated_iou_matrix(a, b), expected,
                               atol=2e-4)
    rng = np.random.RandomState(8)
    for seed, threshold in ((10, 0.1), (11, 0.3), (12, 0.5), (13, 0.7)):
        boxes = random_boxes(300, seed=seed, extent=150.).astype(np.float32)
        scores = rng.rand(300).astype(np.float32)
        labels = rng.randint(0, 4, 300)
        _, keep = ops.batched_nms(
            torch.from_numpy(boxes), torch.from_numpy(scores),
            torch.from_numpy(labels),
            dict(type='nms_rotated', iou_threshold=threshold))
        ours = nms_rotated(boxes, scores, labels, threshold)
        assert ours.tolist() == keep.numpy().tolist(), threshold
