"""Object-level change between two dates: which objects persisted, moved,
appeared or vanished, and which changed their class.

The objects of each date are rotated boxes found by the scene pipeline
(the rotated detector, tiled and merged as ``tools/infer.py`` does). They
are matched one to one by an optimal assignment, in three passes over
what the previous passes left:

1. same class, rotated IoU of at least ``iou_threshold``: ``persisted``;
2. different classes, IoU of at least ``iou_threshold``: ``persisted``
   with ``class_changed`` (the same footprint, relabelled);
3. same class, IoU below the threshold but centres at most
   ``move_distance`` apart (default: the longer side of the larger box):
   ``moved``.

Objects left over are ``vanished`` (date A only) or ``appeared`` (date B
only). Each pass maximises first the number of matched pairs, then the
sum of their IoU (pass 3: their closeness), with
:func:`scipy.optimize.linear_sum_assignment` on each connected group of
candidate pairs, so one object never takes the partner another one
needed, as a greedy matching by highest IoU does.

With a change-probability raster (the pixel change detector run on the
same two dates) the mean probability inside each object's polygon is
stored; an ``appeared`` or ``vanished`` object whose footprint shows no
change (mean below ``change_threshold``) is flagged ``uncertain``: a
detector miss on one date rather than a change on the ground.

Output: a GeoJSON FeatureCollection in the rasters' CRS (one feature per
object: its date-B polygon, or its date-A polygon if it vanished) and a
CSV summary per class and status.
"""
import csv
import io
import os.path as osp
from typing import (Any, Callable, Dict, List, Optional, Sequence, Tuple)

import numpy as np

from ..geometry import polygon_area, rbox_corners, rotated_iou_pairs
from ..io.atomic import write_atomically
from ..io.raster import (RasterError, RasterGrid, RasterSource,
                         check_same_grid, pixel_to_map)
from ..io.vector import boxes_to_geojson, class_name, write_geojson
from .areas import pixel_offsets_m, pixel_size_m, row_areas_m2

__all__ = [
    'STATUSES', 'assign_pairs', 'optimal_pairs', 'candidate_pairs',
    'match_objects', 'boxes_to_grid',
    'mean_in_polygons', 'object_changes', 'changes_to_geojson',
    'summarise_changes', 'write_summary_csv', 'run_object_report',
    'summary_path'
]

STATUSES = ('persisted', 'moved', 'appeared', 'vanished')

Pair = Tuple[int, int]


def assign_pairs(rows: np.ndarray, cols: np.ndarray,
                 weights: np.ndarray) -> List[Pair]:
    """A one-to-one matching among candidate pairs ``(rows[k], cols[k])``
    of weight ``weights[k]`` (in [0, 1]): as many pairs as possible, and
    of those the largest sum of weights.

    Each connected group of candidates (objects that could pair up) is
    solved on its own with :func:`scipy.optimize.linear_sum_assignment`,
    so a scene of thousands of objects is many small problems.

    Returns:
        list[tuple[int, int]]: The matched ``(row, column)`` pairs,
        sorted by row.
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    weights = np.clip(np.asarray(weights, np.float64), 0., 1.)
    if not len(rows):
        return []
    n, m = int(rows.max()) + 1, int(cols.max()) + 1
    graph = coo_matrix((np.ones(len(rows)), (rows, cols + n)),
                       shape=(n + m, n + m))
    _, group = connected_components(graph, directed=False)
    order = np.argsort(group[rows], kind='stable')
    bounds = np.flatnonzero(np.diff(group[rows][order])) + 1
    pairs: List[Pair] = []
    for members in np.split(order, bounds):
        local_rows, r = np.unique(rows[members], return_inverse=True)
        local_cols, c = np.unique(cols[members], return_inverse=True)
        # one pair more always outweighs any sum of weights in [0, 1]
        bonus = min(len(local_rows), len(local_cols)) + 1.
        score = np.zeros((len(local_rows), len(local_cols)))
        valid = np.zeros(score.shape, bool)
        score[r, c] = bonus + weights[members]
        valid[r, c] = True
        for i, j in zip(*linear_sum_assignment(score, maximize=True)):
            if valid[i, j]:
                pairs.append((int(local_rows[i]), int(local_cols[j])))
    return sorted(pairs)


def optimal_pairs(weight: np.ndarray, valid: np.ndarray) -> List[Pair]:
    """:func:`assign_pairs` of the ``valid`` entries of an ``(N, M)``
    weight matrix."""
    rows, cols = np.nonzero(np.asarray(valid, bool))
    return assign_pairs(rows, cols, np.asarray(weight)[rows, cols])


def candidate_pairs(boxes_a: np.ndarray, boxes_b: np.ndarray,
                    radius: float) -> Tuple[np.ndarray, np.ndarray]:
    """The pairs ``(i, j)`` of boxes whose centres are at most ``radius``
    apart, found with a k-d tree instead of trying all ``N x M``."""
    from scipy.spatial import cKDTree
    if not len(boxes_a) or not len(boxes_b):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    near = cKDTree(boxes_a[:, :2]).query_ball_tree(
        cKDTree(boxes_b[:, :2]), float(radius) * (1 + 1e-9) + 1e-9)
    rows = np.repeat(np.arange(len(near), dtype=np.int64),
                     [len(n) for n in near])
    cols = np.fromiter((j for n in near for j in n), np.int64,
                       count=len(rows))
    return rows, cols


def match_objects(boxes_a: np.ndarray,
                  labels_a: np.ndarray,
                  boxes_b: np.ndarray,
                  labels_b: np.ndarray,
                  iou_threshold: float = 0.3,
                  move_distance: Optional[float] = None,
                  cross_class: bool = True) -> List[Dict[str, Any]]:
    """Match the objects of two dates (boxes on the same pixel grid).

    Args:
        boxes_a, boxes_b (np.ndarray): ``(N, 5)`` / ``(M, 5)`` rotated
            boxes in pixels.
        labels_a, labels_b (np.ndarray): Their class ids.
        iou_threshold (float): The IoU from which two boxes are the same
            object in place.
        move_distance (float, optional): The largest centre distance (in
            pixels) of a ``moved`` object. Default: per pair, the longer
            side of the larger box.
        cross_class (bool): Match across classes (``class_changed``).

    Returns:
        list[dict]: One record per object: ``status``, ``a`` and ``b``
        (indices, None where absent), ``iou``, ``distance`` (centre
        distance in pixels, None if unmatched), ``class_changed``. Matched
        objects first (by index in A), then vanished, then appeared.
    """
    boxes_a = np.asarray(boxes_a, np.float64).reshape(-1, 5)
    boxes_b = np.asarray(boxes_b, np.float64).reshape(-1, 5)
    labels_a = np.asarray(labels_a).reshape(-1)
    labels_b = np.asarray(labels_b).reshape(-1)
    # the candidates: pairs that may overlap or lie within the move
    # distance of each other
    size_a = np.abs(boxes_a[:, 2:4]).max(1, initial=0)
    size_b = np.abs(boxes_b[:, 2:4]).max(1, initial=0)
    reach_a = np.hypot(boxes_a[:, 2], boxes_a[:, 3]) / 2
    reach_b = np.hypot(boxes_b[:, 2], boxes_b[:, 3]) / 2
    radius = 0.
    if len(boxes_a) and len(boxes_b):
        radius = max(reach_a.max() + reach_b.max(),
                     max(size_a.max(), size_b.max())
                     if move_distance is None else float(move_distance))
    rows, cols = candidate_pairs(boxes_a, boxes_b, radius)
    distance = np.hypot(boxes_a[rows, 0] - boxes_b[cols, 0],
                        boxes_a[rows, 1] - boxes_b[cols, 1])
    limit = np.maximum(size_a[rows], size_b[cols]) \
        if move_distance is None else np.full(len(rows), move_distance)
    near = distance < reach_a[rows] + reach_b[cols]
    iou = np.zeros(len(rows))
    iou[near] = rotated_iou_pairs(boxes_a[rows[near]], boxes_b[cols[near]])
    same = labels_a[rows] == labels_b[cols]
    free_a = np.ones(len(boxes_a), bool)
    free_b = np.ones(len(boxes_b), bool)
    records: List[Dict[str, Any]] = []

    def assign(candidates: np.ndarray, weight: np.ndarray,
               status: str) -> None:
        pick = np.flatnonzero(candidates & free_a[rows] & free_b[cols])
        index = {(int(rows[k]), int(cols[k])): k for k in pick}
        for i, j in assign_pairs(rows[pick], cols[pick], weight[pick]):
            k = index[(i, j)]
            free_a[i] = free_b[j] = False
            records.append(dict(
                status=status, a=i, b=j, iou=float(iou[k]),
                distance=float(distance[k]),
                class_changed=bool(labels_a[i] != labels_b[j])))

    overlapping = iou >= iou_threshold
    assign(same & overlapping, iou, 'persisted')
    if cross_class:
        assign(~same & overlapping, iou, 'persisted')
    closeness = 1 - distance / np.maximum(limit, 1e-12)
    assign(same & (distance <= limit), closeness, 'moved')
    records.sort(key=lambda r: r['a'])
    for i in np.flatnonzero(free_a):
        records.append(dict(status='vanished', a=int(i), b=None, iou=0.,
                            distance=None, class_changed=False))
    for j in np.flatnonzero(free_b):
        records.append(dict(status='appeared', a=None, b=int(j), iou=0.,
                            distance=None, class_changed=False))
    return records


def boxes_to_grid(boxes: np.ndarray, source, target) -> np.ndarray:
    """Rotated boxes in the pixels of raster ``source`` moved to the
    pixels of raster ``target`` (anything with ``crs`` and ``transform``):
    their corners are mapped (and reprojected if the CRSs differ) and the
    box refitted to them (exact for a change of origin, pixel size or
    rotation; the nearest box for a reprojection)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 5)
    if not len(boxes):
        return boxes.copy()
    corners = pixel_to_map(source.transform, rbox_corners(boxes))
    if source.crs is not None and target.crs is not None and \
            source.crs != target.crs:
        from rasterio.warp import transform as reproject_points
        xs, ys = reproject_points(source.crs, target.crs,
                                  corners[..., 0].ravel(),
                                  corners[..., 1].ravel())
        corners = np.stack([np.asarray(xs), np.asarray(ys)],
                           -1).reshape(corners.shape)
    corners = pixel_to_map(~target.transform, corners)
    centre = corners.mean(1)
    first = corners[:, 1] - corners[:, 0]
    second = corners[:, 2] - corners[:, 1]
    return np.stack([centre[:, 0], centre[:, 1],
                     np.hypot(first[:, 0], first[:, 1]),
                     np.hypot(second[:, 0], second[:, 1]),
                     np.arctan2(first[:, 1], first[:, 0])], 1)


def mean_in_polygons(path: str, corners: np.ndarray) -> np.ndarray:
    """The mean of band 1 of the raster ``path`` over the pixels whose
    centres lie in each polygon (``(N, 4, 2)`` pixel corners on the
    raster's grid); NaN pixels (nodata) are left out, and a polygon too
    thin to hold a pixel centre takes the pixels it touches. NaN for a
    polygon outside the raster or over nodata only."""
    from affine import Affine
    from rasterio.features import rasterize
    means = np.full(len(corners), np.nan)
    if not len(corners):
        return means
    with RasterSource(path, bands=[1]) as source:
        nodata = source.nodata
        for index, polygon in enumerate(np.asarray(corners, np.float64)):
            low = np.floor(polygon.min(0)).astype(int)
            high = np.ceil(polygon.max(0)).astype(int)
            col0, row0 = max(low[0], 0), max(low[1], 0)
            col1 = min(high[0], source.width)
            row1 = min(high[1], source.height)
            if col1 <= col0 or row1 <= row0:
                continue
            window = (row0, col0, row1 - row0, col1 - col0)
            values = source.read(window)[0].astype(np.float64)
            if nodata is not None and not np.isnan(nodata):
                values[values == nodata] = np.nan
            ring = [[float(x), float(y)] for x, y in polygon]
            shape = dict(type='Polygon', coordinates=[ring + [ring[0]]])
            for touched in (False, True):
                inside = rasterize(
                    [(shape, 1)], out_shape=values.shape,
                    transform=Affine.translation(col0, row0),
                    all_touched=touched, dtype='uint8').astype(bool)
                if inside.any():
                    break
            picked = values[inside]
            picked = picked[~np.isnan(picked)]
            if picked.size:
                means[index] = picked.mean()
    return means


def _detections(found: Dict[str, Any]) -> Tuple[np.ndarray, np.ndarray,
                                                np.ndarray]:
    boxes = np.asarray(found['boxes'], np.float64).reshape(-1, 5)
    scores = np.asarray(found['scores'], np.float64).reshape(-1)
    labels = np.asarray(found['labels']).reshape(-1).astype(np.int64)
    if not len(boxes) == len(scores) == len(labels):
        raise ValueError(f'detections: {len(boxes)} boxes, {len(scores)} '
                         f'scores, {len(labels)} labels')
    return boxes, scores, labels


def object_changes(found_a: Dict[str, Any],
                   found_b: Dict[str, Any],
                   classes: Sequence[str],
                   grid,
                   iou_threshold: float = 0.3,
                   move_distance_m: Optional[float] = None,
                   change_probs: Optional[str] = None,
                   change_threshold: float = 0.5,
                   cross_class: bool = True) -> List[Dict[str, Any]]:
    """The change records of the objects of two dates.

    Args:
        found_a, found_b (dict): ``boxes`` ``(N, 5)`` (pixels of
            ``grid``), ``scores`` and ``labels`` of each date.
        classes (Sequence[str]): Class names.
        grid: The common grid (``crs``, ``transform``): areas, distances.
        iou_threshold (float): See :func:`match_objects`.
        move_distance_m (float, optional): The largest shift of a moved
            object in metres (in pixels for a raster without CRS).
            Default: the object's size.
        change_probs (str, optional): A change-probability raster on
            ``grid`` (band 1, NaN at nodata).
        change_threshold (float): Mean change probability below which an
            appeared or vanished object is ``uncertain``.
        cross_class (bool): Match across classes.

    Returns:
        list[dict]: Per object: ``status``, ``class_a``, ``class_b``,
        ``class_changed``, ``score_a``, ``score_b``, ``iou``,
        ``shift_m``, ``change_prob``, ``uncertain``, ``area_m2``,
        ``id_a``, ``id_b`` (detection indices) and ``corners`` (the
        polygon in pixels of ``grid``: date B's, or date A's if vanished).
    """
    boxes_a, scores_a, labels_a = _detections(found_a)
    boxes_b, scores_b, labels_b = _detections(found_b)
    move_distance = None
    if move_distance_m is not None:
        size = pixel_size_m(grid.transform, grid.crs,
                            row=float(getattr(grid, 'height', 0)) / 2)
        move_distance = move_distance_m / size if size else move_distance_m
    matches = match_objects(boxes_a, labels_a, boxes_b, labels_b,
                            iou_threshold, move_distance, cross_class)
    corners_a = rbox_corners(boxes_a) if len(boxes_a) else \
        np.zeros((0, 4, 2))
    corners_b = rbox_corners(boxes_b) if len(boxes_b) else \
        np.zeros((0, 4, 2))
    records = []
    for match in matches:
        i, j = match['a'], match['b']
        box = boxes_b[j] if j is not None else boxes_a[i]
        corners = corners_b[j] if j is not None else corners_a[i]
        area = row_areas_m2(grid.transform, grid.crs, np.array([box[1]]))
        shift = None
        if i is not None and j is not None:
            delta = boxes_b[j, :2] - boxes_a[i, :2]
            metres = pixel_offsets_m(grid.transform, grid.crs, delta[0],
                                     delta[1], box[1])
            shift = float(metres) if metres is not None else None
        records.append(dict(
            status=match['status'],
            class_a=None if i is None else class_name(labels_a[i], classes),
            class_b=None if j is None else class_name(labels_b[j], classes),
            class_changed=match['class_changed'],
            score_a=None if i is None else float(scores_a[i]),
            score_b=None if j is None else float(scores_b[j]),
            iou=match['iou'], shift_m=shift, change_prob=None,
            uncertain=None,
            area_m2=None if area is None else
            float(polygon_area(corners) * area[0]),
            id_a=i, id_b=j, corners=corners))
    if change_probs is not None:
        means = mean_in_polygons(change_probs,
                                 np.array([r['corners'] for r in records])
                                 .reshape(-1, 4, 2))
        for record, mean in zip(records, means):
            record['change_prob'] = None if np.isnan(mean) else float(mean)
            record['uncertain'] = record['status'] in (
                'appeared', 'vanished') and not (
                    record['change_prob'] is not None and
                    record['change_prob'] >= change_threshold)
    return records


_PROPERTIES = ('status', 'class_a', 'class_b', 'class_changed', 'score_a',
               'score_b', 'iou', 'shift_m', 'change_prob', 'uncertain',
               'area_m2', 'id_a', 'id_b')


def _rounded(value: Any, digits: int) -> Any:
    return round(value, digits) if isinstance(value, float) else value


def changes_to_geojson(records: List[Dict[str, Any]], grid,
                       classes: Sequence[str]) -> Dict[str, Any]:
    """A FeatureCollection of the records' polygons in ``grid``'s CRS
    (pixel coordinates if it has none) with the properties of
    :func:`object_changes` (``corners`` left out)."""
    corners = np.array([r['corners'] for r in records]).reshape(-1, 4, 2)
    collection = boxes_to_geojson(corners, np.zeros(len(records)),
                                  np.zeros(len(records), int), classes,
                                  grid)
    for feature, record in zip(collection['features'], records):
        feature['properties'] = {
            key: _rounded(record[key], 3 if key in ('area_m2', 'shift_m')
                          else 5) for key in _PROPERTIES}
    return collection


def summarise_changes(records: List[Dict[str, Any]]
                      ) -> List[Dict[str, Any]]:
    """Rows ``status, class_a, class_b, count, uncertain, area_m2`` per
    status and class pair (``class_a`` empty for appeared objects,
    ``class_b`` for vanished ones), in the order of :data:`STATUSES`."""
    groups: Dict[Tuple[str, str, str], Dict[str, Any]] = {}
    for record in records:
        key = (record['status'], record['class_a'] or '',
               record['class_b'] or '')
        row = groups.setdefault(key, dict(
            status=key[0], class_a=key[1], class_b=key[2], count=0,
            uncertain=0, area_m2=0.))
        row['count'] += 1
        row['uncertain'] += bool(record['uncertain'])
        if record['area_m2'] is None or row['area_m2'] is None:
            row['area_m2'] = None
        else:
            row['area_m2'] += record['area_m2']
    return [groups[key] for key in sorted(
        groups, key=lambda k: (STATUSES.index(k[0]), k[1], k[2]))]


def write_summary_csv(path: str, rows: List[Dict[str, Any]]) -> None:
    """Write the rows of :func:`summarise_changes` as CSV atomically."""
    columns = ('status', 'class_a', 'class_b', 'count', 'uncertain',
               'area_m2')
    text = io.StringIO()
    writer = csv.writer(text, lineterminator='\n')
    writer.writerow(columns)
    for row in rows:
        writer.writerow(['' if row[c] is None else
                         (f'{row[c]:.3f}' if c == 'area_m2' else row[c])
                         for c in columns])

    def write(tmp: str) -> None:
        with open(tmp, 'w', newline='') as f:
            f.write(text.getvalue())

    write_atomically(path, write)


def summary_path(out: str) -> str:
    """Where the CSV summary of the GeoJSON ``out`` goes."""
    return f'{osp.splitext(out)[0]}_summary.csv'


Detector = Callable[[str], Dict[str, Any]]
ChangeModel = Callable[[str, str, str], str]


def run_object_report(path_a: str,
                      path_b: str,
                      out: str,
                      detect: Detector,
                      classes: Sequence[str],
                      iou_threshold: float = 0.3,
                      move_distance_m: Optional[float] = None,
                      align: bool = False,
                      change: Optional[ChangeModel] = None,
                      change_threshold: float = 0.5,
                      preview: bool = False,
                      preview_bands: Optional[Sequence[int]] = None
                      ) -> Dict[str, Any]:
    """Detect the objects of both dates, match them and write the GeoJSON
    ``out`` and its CSV summary (and a quicklook with ``preview``).

    Args:
        path_a, path_b (str): The two dates.
        out (str): The GeoJSON file.
        detect (callable): ``detect(path)`` -> dict with ``boxes``
            ``(N, 5)`` in the raster's pixels, ``scores``, ``labels``
            (the rotated detection inferencer, or a stand-in).
        classes (Sequence[str]): The detector's class names.
        iou_threshold, move_distance_m, change_threshold: See
            :func:`object_changes`.
        align (bool): Date B may lie on another grid: its boxes are moved
            onto date A's grid. Without it the grids must be equal.
        change (callable, optional): ``change(path_a, path_b, out_stem)``
            writes a change-probability raster on date A's grid and
            returns its path (the change detector).
        preview (bool): Also write ``<stem>.png`` (over date B, over
            date A with ``align``).
        preview_bands (Sequence[int], optional): 1-based bands of date B
            shown as RGB in the quicklook (default: see
            :func:`~.quicklook.rgb_bands`).

    Returns:
        dict: ``records`` (see :func:`object_changes`), ``summary`` and
        the written ``paths``.
    """
    with RasterSource(path_a) as source_a, RasterSource(path_b) as source_b:
        if align:
            if not (source_a.georeferenced and source_b.georeferenced):
                raise RasterError(
                    f'--align needs georeferenced rasters: {path_a} and '
                    f'{path_b} must both have a CRS and transform.')
        else:
            check_same_grid(source_a, source_b)
        grid = RasterGrid(source_a.width, source_a.height, source_a.crs,
                          source_a.transform)
        grid_b = RasterGrid(source_b.width, source_b.height, source_b.crs,
                            source_b.transform)
    found_a = dict(detect(path_a))
    found_b = dict(detect(path_b))
    if align:
        found_b['boxes'] = boxes_to_grid(
            np.asarray(found_b['boxes']).reshape(-1, 5), grid_b, grid)
    paths = []
    probs = None
    if change is not None:
        probs = change(path_a, path_b, osp.splitext(out)[0])
        paths.append(probs)
    records = object_changes(found_a, found_b, classes, grid,
                             iou_threshold, move_distance_m, probs,
                             change_threshold)
    write_geojson(out, changes_to_geojson(records, grid, classes))
    summary = summarise_changes(records)
    write_summary_csv(summary_path(out), summary)
    paths += [out, summary_path(out)]
    if preview:
        from .quicklook import quicklook_objects
        # over date B, or over date A (the grid of the polygons) when
        # date B lies on another grid
        paths.append(quicklook_objects(
            path_a if align else path_b, records,
            f'{osp.splitext(out)[0]}.png',
            bands=preview_bands)['path'])
    return dict(records=records, summary=summary, paths=paths)

