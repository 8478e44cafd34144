"""Plane geometry of rotated boxes, in numpy alone.

A rotated box is ``(cx, cy, w, h, angle)``: its centre, its width and
height, and its angle in radians, in pixel (or any Cartesian)
coordinates, as mmrotate and mmcv write them. Polygons are ``(..., M, 2)``
arrays of ``(x, y)`` vertices.

- :func:`rbox_corners`: the four corners of rotated boxes;
- :func:`polygon_area`: areas by the shoelace formula;
- :func:`rotated_iou_pairs` / :func:`rotated_iou_matrix`: the exact
  intersection over union of rotated boxes (the intersection of two
  convex quadrilaterals, not a raster approximation);
- :func:`nms_rotated`: non-maximum suppression per class, as mmcv's
  ``batched_nms`` with ``nms_rotated`` keeps them.

The intersection of two convex polygons is the convex polygon whose
vertices are the vertices of each polygon lying inside the other and the
crossings of their edges; its area follows from ordering these points by
their angle around their centroid. Every pair is computed at once
(vectorised over pairs), after a cheap test on the boxes' circumscribed
circles leaves out pairs that cannot meet.
"""
from typing import Optional

import numpy as np

__all__ = [
    'rbox_corners', 'polygon_area', 'rbox_area', 'rotated_iou_pairs',
    'rotated_iou_matrix', 'nms_rotated'
]

# Pairs computed together in one vectorised step (bounds the memory of
# the candidate points: about 0.4 KB per pair).
_CHUNK = 65536
# Relative tolerance of the point-in-polygon test (a vertex on an edge of
# the other box counts as inside).
_EPS = 1e-9


def rbox_corners(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4, 2)`` corners of rotated boxes ``(cx, cy, w, h, angle in
    radians)``, clockwise in image coordinates."""
    cx, cy, w, h, angle = (boxes[:, i] for i in range(5))
    cos, sin = np.cos(angle), np.sin(angle)
    half = np.stack([np.stack([-w, -h], 1), np.stack([w, -h], 1),
                     np.stack([w, h], 1), np.stack([-w, h], 1)], 1) / 2
    x = cx[:, None] + half[..., 0] * cos[:, None] - half[..., 1] * \
        sin[:, None]
    y = cy[:, None] + half[..., 0] * sin[:, None] + half[..., 1] * \
        cos[:, None]
    return np.stack([x, y], -1)


def polygon_area(polygons: np.ndarray) -> np.ndarray:
    """Areas of ``(..., M, 2)`` simple polygons (shoelace formula), in
    the square units of their coordinates; either vertex order.

    The vertices are taken relative to the first one, so map coordinates
    of six or seven digits (UTM) keep their precision.
    """
    points = np.asarray(polygons, np.float64)
    points = points - points[..., :1, :]
    x, y = points[..., 0], points[..., 1]
    twice = (x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y).sum(-1)
    return np.abs(twice) / 2


def rbox_area(boxes: np.ndarray) -> np.ndarray:
    """Areas ``w * h`` of ``(N, 5)`` rotated boxes."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 5)
    return np.abs(boxes[:, 2] * boxes[:, 3])


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """``(P, n)`` whether each of ``(P, n, 2)`` points lies in the convex
    ``(P, 4, 2)`` polygon of its pair (boundary included)."""
    edges = np.roll(polygon, -1, 1) - polygon  # (P, 4, 2)
    relative = points[:, :, None, :] - polygon[:, None, :, :]
    side = _cross(edges[:, None], relative)  # (P, n, 4)
    scale = np.abs(edges).max((1, 2))[:, None, None] ** 2 * _EPS
    return ((side >= -scale).all(-1) | (side <= scale).all(-1))


def _intersection_area(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Areas of the intersections of pairs of convex quadrilaterals
    ``(P, 4, 2)`` (vertices in order, either orientation)."""
    pairs = len(a)
    # crossings of edge i of a with edge j of b
    start_a, dir_a = a, np.roll(a, -1, 1) - a
    start_b, dir_b = b, np.roll(b, -1, 1) - b
    denom = _cross(dir_a[:, :, None], dir_b[:, None])  # (P, 4, 4)
    offset = start_b[:, None] - start_a[:, :, None]  # (P, 4, 4, 2)
    parallel = np.abs(denom) <= 1e-12 * np.maximum(
        np.abs(dir_a).max((1, 2)), 1e-300)[:, None, None] ** 2
    safe = np.where(parallel, 1., denom)
    t = _cross(offset, dir_b[:, None]) / safe
    u = _cross(offset, dir_a[:, :, None]) / safe
    crossing = ~parallel & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    points_x = start_a[:, :, None] + t[..., None] * dir_a[:, :, None]
    points = np.concatenate(
        [a, b, points_x.reshape(pairs, 16, 2)], 1)  # (P, 24, 2)
    valid = np.concatenate(
        [_inside(a, b), _inside(b, a), crossing.reshape(pairs, 16)], 1)
    count = valid.sum(1)
    # order the valid points by angle around their centroid; invalid ones
    # go last and repeat the first point (zero area in the shoelace sum)
    weights = valid[..., None].astype(np.float64)
    centre = (points * weights).sum(1) / np.maximum(count, 1)[:, None]
    relative = points - centre[:, None]
    angle = np.arctan2(relative[..., 1], relative[..., 0])
    angle = np.where(valid, angle, np.inf)
    order = np.argsort(angle, 1, kind='stable')
    ordered = np.take_along_axis(relative, order[..., None], 1)
    ordered_valid = np.take_along_axis(valid, order, 1)
    ordered = np.where(ordered_valid[..., None], ordered, ordered[:, :1])
    nxt = np.roll(ordered, -1, 1)
    area = np.abs(_cross(ordered, nxt).sum(1)) / 2
    return np.where(count >= 3, area, 0.)


def rotated_iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of the rotated boxes ``a[i]`` and ``b[i]``: ``(N,)`` from two
    ``(N, 5)`` arrays. Boxes without area have IoU 0 (as in mmcv)."""
    a = np.asarray(a, np.float64).reshape(-1, 5)
    b = np.asarray(b, np.float64).reshape(-1, 5)
    if a.shape != b.shape:
        raise ValueError(f'rotated_iou_pairs: {len(a)} boxes vs {len(b)}')
    iou = np.zeros(len(a))
    area_a, area_b = rbox_area(a), rbox_area(b)
    # circumscribed circles that do not meet: no intersection
    reach = (np.hypot(a[:, 2], a[:, 3]) + np.hypot(b[:, 2], b[:, 3])) / 2
    near = (np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1]) < reach) & \
        (area_a > 1e-14) & (area_b > 1e-14)
    index = np.flatnonzero(near)
    for start in range(0, len(index), _CHUNK):
        chunk = index[start:start + _CHUNK]
        box_a, box_b = a[chunk].copy(), b[chunk].copy()
        # about the midpoint of the centres, for precision (as mmcv)
        middle = (box_a[:, :2] + box_b[:, :2]) / 2
        box_a[:, :2] -= middle
        box_b[:, :2] -= middle
        inter = _intersection_area(rbox_corners(box_a),
                                   rbox_corners(box_b))
        union = area_a[chunk] + area_b[chunk] - inter
        iou[chunk] = np.clip(inter / np.maximum(union, 1e-300), 0., 1.)
    return iou


def rotated_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` IoU of every rotated box of ``a`` ``(N, 5)`` with every
    one of ``b`` ``(M, 5)`` (mmcv's ``box_iou_rotated``, exact)."""
    a = np.asarray(a, np.float64).reshape(-1, 5)
    b = np.asarray(b, np.float64).reshape(-1, 5)
    matrix = np.zeros((len(a), len(b)))
    if not len(a) or not len(b):
        return matrix
    reach = (np.hypot(a[:, 2], a[:, 3])[:, None] +
             np.hypot(b[:, 2], b[:, 3])[None]) / 2
    distance = np.hypot(a[:, None, 0] - b[None, :, 0],
                        a[:, None, 1] - b[None, :, 1])
    rows, cols = np.nonzero(distance < reach)
    matrix[rows, cols] = rotated_iou_pairs(a[rows], b[cols])
    return matrix


def nms_rotated(boxes: np.ndarray,
                scores: np.ndarray,
                labels: Optional[np.ndarray] = None,
                iou_threshold: float = 0.1) -> np.ndarray:
    """Rotated non-maximum suppression per class.

    Within each class, boxes are visited by falling score (ties: the
    earlier index first); a box is kept unless an already kept box of its
    class overlaps it with an IoU of at least ``iou_threshold`` (mmcv's
    CPU kernel suppresses at ``IoU >= threshold``).

    Args:
        boxes (np.ndarray): ``(N, 5)`` rotated boxes.
        scores (np.ndarray): ``(N,)`` scores.
        labels (np.ndarray, optional): ``(N,)`` class ids; boxes of
            different classes never suppress each other. None: one class.
        iou_threshold (float): The suppressing IoU.

    Returns:
        np.ndarray: The indices of the kept boxes (int64), by falling
        score across all classes, as mmcv's ``batched_nms`` returns them.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 5)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise ValueError(f'nms_rotated: {len(boxes)} boxes but '
                         f'{len(scores)} scores')
    labels = np.zeros(len(boxes), np.int64) if labels is None else \
        np.asarray(labels).reshape(-1)
    if len(labels) != len(boxes):
        raise ValueError(f'nms_rotated: {len(boxes)} boxes but '
                         f'{len(labels)} labels')
    order = np.argsort(-scores, kind='stable')
    suppressed = np.zeros(len(boxes), bool)
    reach = np.hypot(boxes[:, 2], boxes[:, 3]) / 2
    keep = []
    for position, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[position + 1:]
        rest = rest[~suppressed[rest] & (labels[rest] == labels[i])]
        if not len(rest):
            continue
        if iou_threshold <= 0:  # IoU >= 0 holds for every box
            suppressed[rest] = True
            continue
        rest = rest[np.hypot(boxes[rest, 0] - boxes[i, 0],
                             boxes[rest, 1] - boxes[i, 1]) <
                    reach[rest] + reach[i]]
        if len(rest):
            iou = rotated_iou_pairs(np.repeat(boxes[i:i + 1], len(rest), 0),
                                    boxes[rest])
            suppressed[rest[iou >= iou_threshold]] = True
    return np.asarray(keep, np.int64)

