"""Agreement of two backends' outputs: dense maps (pixel agreement,
probabilities, the mIoU between two class maps) and rotated detections
(matched one to one by rotated IoU). NumPy only."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..geometry import rotated_iou_matrix

__all__ = [
    'errors', 'map_agreement', 'match_detections', 'polygons_to_rboxes'
]


def errors(reference: np.ndarray, other: np.ndarray) -> Tuple[float, float]:
    """Max absolute error and max relative error (to the largest
    reference magnitude) of ``other`` against ``reference``."""
    reference = np.asarray(reference, np.float64)
    other = np.asarray(other, np.float64)
    if reference.shape != other.shape:
        raise ValueError(f'shapes differ: {reference.shape} and '
                         f'{other.shape}')
    if reference.size == 0:
        return 0., 0.
    worst = float(np.abs(reference - other).max())
    scale = float(np.abs(reference).max())
    return worst, worst / scale if scale > 0 else worst


def map_agreement(labels_a: np.ndarray, labels_b: np.ndarray,
                  num_classes: int,
                  ignore: Optional[int] = 255) -> Dict[str, float]:
    """Pixel agreement and the mean IoU between two class maps (each
    class's IoU of the two maps' masks, averaged over the classes present
    in either; pixels ``ignore`` in either are left out)."""
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    valid = np.ones(labels_a.shape, bool)
    if ignore is not None:
        valid = (labels_a != ignore) & (labels_b != ignore)
    a, b = labels_a[valid].astype(np.int64), labels_b[valid].astype(np.int64)
    agreement = float((a == b).mean()) if a.size else 1.
    ious = []
    for k in range(num_classes):
        in_a, in_b = a == k, b == k
        union = np.count_nonzero(in_a | in_b)
        if union:
            ious.append(np.count_nonzero(in_a & in_b) / union)
    return dict(pixel_agreement=agreement,
                miou=float(np.mean(ious)) if ious else 1.,
                pixels=int(a.size))


def match_detections(reference: Sequence[np.ndarray],
                     other: Sequence[np.ndarray], min_iou: float = 0.99,
                     score_tol: float = 1e-4) -> Dict[str, float]:
    """Match two sets of rotated detections one to one.

    Args:
        reference (tuple): ``(boxes (n, 5), scores (n,), labels (n,))``.
        other (tuple): The same of the other backend.
        min_iou (float): A match has at least this rotated IoU ...
        score_tol (float): ... the same label and scores within this.

    Returns:
        dict: ``reference``, ``other`` (counts), ``matched``,
        ``min_iou`` and ``max_score_diff`` over the matches, ``ok``
        (every detection of both matched).
    """
    boxes_a, scores_a, labels_a = (np.asarray(x) for x in reference)
    boxes_b, scores_b, labels_b = (np.asarray(x) for x in other)
    matched, worst_iou, worst_score = 0, 1., 0.
    if len(boxes_a) and len(boxes_b):
        iou = rotated_iou_matrix(boxes_a.astype(np.float64),
                                 boxes_b.astype(np.float64))
        iou[labels_a[:, None] != labels_b[None, :]] = 0
        close = np.abs(scores_a[:, None].astype(np.float64) -
                       scores_b[None, :]) <= score_tol
        candidate = np.where((iou >= min_iou) & close, iou, -1.)
        used = np.zeros(len(boxes_b), bool)
        for i in np.argsort(-scores_a, kind='stable'):
            row = np.where(used, -1., candidate[i])
            j = int(row.argmax())
            if row[j] < 0:
                continue
            used[j] = True
            matched += 1
            worst_iou = min(worst_iou, float(iou[i, j]))
            worst_score = max(worst_score,
                              abs(float(scores_a[i]) - float(scores_b[j])))
    return dict(reference=len(boxes_a), other=len(boxes_b),
                matched=matched, min_iou=worst_iou if matched else 0.,
                max_score_diff=worst_score,
                ok=matched == len(boxes_a) == len(boxes_b))


def polygons_to_rboxes(polygons: np.ndarray) -> np.ndarray:
    """``(N, 4, 2)`` rectangle corners (a GeoJSON ring without its
    closing point) -> ``(N, 5)`` rotated boxes."""
    points = np.asarray(polygons, np.float64).reshape(-1, 4, 2)
    edge_w = points[:, 1] - points[:, 0]
    edge_h = points[:, 2] - points[:, 1]
    centre = points.mean(1)
    return np.stack([centre[:, 0], centre[:, 1],
                     np.hypot(edge_w[:, 0], edge_w[:, 1]),
                     np.hypot(edge_h[:, 0], edge_h[:, 1]),
                     np.arctan2(edge_w[:, 1], edge_w[:, 0])], 1)
