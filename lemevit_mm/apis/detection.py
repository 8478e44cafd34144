"""Oriented object detection on whole scenes
(:class:`RotatedDetectionInferencer`).

The scene is cut into patches (by default 1024 px with a gap of 200, the
DOTA split of the configs), the detections of every patch are moved to
scene coordinates and merged by rotated NMS per class
(:func:`merge_rotated_detections`), so an object cut by a patch border is
found once. The boxes are written as GeoJSON polygons and DOTA text
(:mod:`lemevit_mm.io.vector`). Imports numpy, rasterio and the package's
pure modules only.
"""
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np

from ..geometry import nms_rotated, rbox_corners
from ..io.raster import RasterSource
from ..io.vector import dota_path, write_rotated_boxes
from .scene import InferOptions, SceneInferencer, SceneResult, Tile
from .streaming import Progress, read_ahead
from .tiling import fit_tile, grid_size

__all__ = [
    'DetectionResult', 'RotatedDetectionInferencer',
    'merge_rotated_detections', 'write_detections', 'rbox_corners'
]

Detections = Tuple[np.ndarray, np.ndarray, np.ndarray]


class DetectionResult(SceneResult):
    """``boxes`` ((N, 5) cx, cy, w, h, angle, pixels of the scene),
    ``scores`` (N,), ``labels`` (N,), ``classes`` (names); ``paths`` when
    written; ``tiles`` and ``seconds``."""


def _mmcv_batched_nms():
    """mmcv's ``batched_nms`` where torch and mmcv's compiled ops import,
    else None."""
    try:
        import torch
        from mmcv.ops import batched_nms
    except ImportError:
        return None
    return torch, batched_nms


def merge_rotated_detections(boxes: np.ndarray, scores: np.ndarray,
                             labels: np.ndarray, iou: float
                             ) -> Detections:
    """Rotated NMS per class over the detections of all patches; sorted
    by falling score.

    mmcv's ``batched_nms`` with ``nms_rotated`` where torch and mmcv are
    installed (the numbers of the training stack), else the same NMS in
    numpy (:func:`lemevit_mm.geometry.nms_rotated`).
    """
    if len(boxes) == 0:
        return boxes, scores, labels
    mmcv_nms = _mmcv_batched_nms()
    if mmcv_nms is None:
        keep = nms_rotated(boxes, scores, labels, iou)
    else:
        torch, batched_nms = mmcv_nms
        _, keep = batched_nms(
            torch.from_numpy(boxes).float(),
            torch.from_numpy(scores).float(), torch.from_numpy(labels),
            dict(type='nms_rotated', iou_threshold=iou))
        keep = keep.numpy()
    return boxes[keep], scores[keep], labels[keep]


def write_detections(result: SceneResult, source: RasterSource,
                     out: str) -> List[str]:
    """Write ``out`` (GeoJSON) and ``<stem>_dota.txt`` atomically."""
    return write_rotated_boxes(out, result['boxes'], result['scores'],
                               result['labels'], result['classes'], source)


class RotatedDetectionInferencer(SceneInferencer):
    """Oriented object detection on whole scenes (mmrotate models).

    The scene is cut into patches (by default 1024 px with a gap of 200,
    the DOTA split of the configs), the detections of every patch are moved
    to scene coordinates and merged by rotated NMS per class, so an object
    cut by a patch border is found once. Writes a GeoJSON FeatureCollection
    of the boxes as polygons (the raster's CRS; pixel coordinates if it
    has none) and a DOTA-style text file in pixel coordinates.

    Args:
        score_thr (float, optional): Keep detections scoring at least
            this. Defaults to the model's (0.3).
        nms_iou (float, optional): IoU of the merging NMS. Defaults to the
            model's (0.1, as mmrotate merges DOTA patches).
        **kwargs: See :class:`SceneInferencer`.
    """

    task = 'det'
    OUTPUT_EXTENSION = '.geojson'
    PATCH = (1024, 1024)
    GAP = 200

    def __init__(self, *args, score_thr: Optional[float] = None,
                 nms_iou: Optional[float] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.score_thr = self.info.score_thr if score_thr is None else \
            score_thr
        self.nms_iou = self.info.nms_iou if nms_iou is None else nms_iou

    @classmethod
    def output_files(cls, out: str, options: InferOptions) -> List[str]:
        return [out, dota_path(out)]

    def _pad(self, data: np.ndarray, tile: Tile) -> np.ndarray:
        """Pad a border patch with the mean pixel (zero after
        normalisation), as DOTA's split tool does."""
        pad_h, pad_w = tile[0] - data.shape[1], tile[1] - data.shape[2]
        if pad_h == 0 and pad_w == 0:
            return data
        fill = self.mean if self.mean is not None and \
            self.mean.size == data.shape[0] else np.zeros(data.shape[0])
        padded = np.empty((data.shape[0], *tile), np.float32)
        padded[:] = np.asarray(fill, np.float32)[:, None, None]
        padded[:, :data.shape[1], :data.shape[2]] = data
        return padded

    def detect_patches(self, batch: np.ndarray) -> List[Detections]:
        """Per patch of ``(B, C, h, w)``: ``(boxes (n, 5), scores, labels)``
        in patch pixel coordinates."""
        return self.backend.forward(batch)

    def _infer(self, inputs: List[str], out: Optional[str],
               options: InferOptions) -> SceneResult:
        return self.detect(inputs[0], out, options.tile, options.overlap,
                           options.score_thr)

    def __call__(self, path: str, out: Optional[str] = None,
                 tile: Optional[Tile] = None,
                 overlap: Optional[int] = None) -> DetectionResult:
        return self.detect(path, out, tile, overlap)

    def detect(self, path: str, out: Optional[str] = None,
               tile: Optional[Tile] = None, overlap: Optional[int] = None,
               score_thr: Optional[float] = None) -> DetectionResult:
        """The merged boxes of a scene (written to ``out`` and its DOTA
        file if given)."""
        score_thr = self.score_thr if score_thr is None else score_thr
        tile = self.tile_size(tile)
        overlap = self.default_overlap(tile) if overlap is None else overlap
        with self.open(path) as source:
            tile, overlap = fit_tile(tile, overlap, source.height,
                                     source.width, self.info.size_divisor)
            total = grid_size(source.height, source.width, tile, overlap)
            progress = Progress(total, osp.basename(path), self.quiet)
            found: List[np.ndarray] = []
            tiles = self._tiles([source], tile, overlap, self._pad)
            for batch in read_ahead(self._batches(tiles)):
                detections = self.detect_patches(
                    np.stack([item[3] for item in batch]))
                for (_, row, col, _), (boxes, scores, labels) in zip(
                        batch, detections):
                    keep = scores >= score_thr
                    boxes = boxes[keep].copy()
                    boxes[:, 0] += col
                    boxes[:, 1] += row
                    found.append(np.concatenate(
                        [boxes, scores[keep, None],
                         labels[keep, None].astype(np.float32)], 1))
                progress.update(len(batch))
            detections = np.concatenate(found) if found else \
                np.zeros((0, 7), np.float32)
            inside = (detections[:, 0] >= 0) & \
                (detections[:, 0] < source.width) & \
                (detections[:, 1] >= 0) & (detections[:, 1] < source.height)
            boxes, scores, labels = merge_rotated_detections(
                detections[inside, :5], detections[inside, 5],
                detections[inside, 6].astype(np.int64), self.nms_iou)
            result = DetectionResult(
                boxes=boxes, scores=scores, labels=labels,
                classes=self.classes, tiles=total,
                seconds=progress.seconds)
            if out is not None:
                result['paths'] = write_detections(result, source, out)
        return result
