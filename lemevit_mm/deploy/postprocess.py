"""What runs after an exported detector's graph, in NumPy: mmdet's
``multiclass_nms`` with mmcv's rotated NMS per class
(:func:`lemevit_mm.geometry.nms_rotated`).
"""
from typing import Tuple

import numpy as np

from ..geometry import nms_rotated

__all__ = ['multiclass_nms_rotated']


def multiclass_nms_rotated(boxes: np.ndarray, scores: np.ndarray,
                           score_thr: float, iou_threshold: float,
                           max_per_img: int
                           ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The detections of one image from its RoIs, as mmdet's
    ``multiclass_nms`` with ``nms_rotated`` (class-agnostic boxes).

    Args:
        boxes (np.ndarray): ``(R, 5)`` rotated boxes, one per RoI.
        scores (np.ndarray): ``(R, K)`` class scores (background left out).
        score_thr (float): Keep scores above this.
        iou_threshold (float): IoU of the rotated NMS within a class.
        max_per_img (int): At most this many detections (<= 0: all).

    Returns:
        tuple: ``boxes (n, 5)``, ``scores (n,)``, ``labels (n,)`` int64,
        by falling score.
    """
    rois, labels = np.nonzero(scores > score_thr)
    if len(rois) == 0:
        return (np.zeros((0, 5), np.float32), np.zeros(0, np.float32),
                np.zeros(0, np.int64))
    candidates = boxes[rois].astype(np.float32)
    values = scores[rois, labels].astype(np.float32)
    keep = nms_rotated(candidates, values, labels, iou_threshold)
    if max_per_img > 0:
        keep = keep[:max_per_img]
    return candidates[keep], values[keep], labels[keep].astype(np.int64)
