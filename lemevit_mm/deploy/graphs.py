"""The exported graphs: each task's model as a module of tensors in and
tensors out, with the data preprocessor's normalisation inside.

- :class:`DenseGraph`: segmentation (``image`` -> ``logits`` at the
  input size; UperNet's auxiliary head is not part of inference) and
  change detection (``image_a``, ``image_b`` -> change ``logits``);
- :class:`ClassifierGraph`: ``image`` -> ``logits``;
- :class:`OrientedRCNNGraph`: the whole two-stage Oriented R-CNN,
  ``image`` -> ``boxes`` ``(B, R, 5)`` and class ``scores`` ``(B, R, K)``
  of the ``R`` second-stage RoIs (the rotated NMS per class runs after
  the graph, :func:`lemevit_mm.deploy.postprocess.multiclass_nms_rotated`).

Inputs are float32 tiles in the model's channel layout, not normalised
(what a backend's ``forward`` receives, see
:class:`~lemevit_mm.apis.scene.ModelInfo`): the graph flips a 3-band
input to RGB where the data preprocessor does, then subtracts the mean
and divides by the standard deviation.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .ops import nms_keep
from .roi_align import RotatedRoIAlign

__all__ = [
    'Normalize', 'DenseGraph', 'ClassifierGraph', 'OrientedRCNNGraph',
    'rect_polygons_to_rboxes', 'regularize_rboxes'
]


class Normalize(nn.Module):
    """The data preprocessor's ``(flip(x) - mean) / std``.

    Args:
        mean (Sequence[float], optional): One value per channel (None: no
            normalisation).
        std (Sequence[float], optional): See ``mean``.
        bgr_to_rgb (bool): Reverse the channels of a 3-channel input
            first (per date of a pair: ``channels`` gives their number).
        channels (int): Channels of one image. Defaults to 3.
    """

    def __init__(self, mean: Optional[Sequence[float]],
                 std: Optional[Sequence[float]], bgr_to_rgb: bool = False,
                 channels: int = 3) -> None:
        super().__init__()
        self.flip = bool(bgr_to_rgb) and channels == 3
        self.enabled = mean is not None
        if self.enabled:
            self.register_buffer('mean', torch.tensor(
                list(mean), dtype=torch.float32).view(1, -1, 1, 1))
            self.register_buffer('std', torch.tensor(
                list(std), dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, image: Tensor, part: int = 0) -> Tensor:
        """Normalise ``image``, date ``part`` of a pair (its slice of the
        mean and std)."""
        if self.flip:
            image = image[:, [2, 1, 0]]
        if not self.enabled:
            return image
        channels = image.shape[1]
        mean = self.mean[:, part * channels:(part + 1) * channels]
        std = self.std[:, part * channels:(part + 1) * channels]
        return (image - mean) / std


class DenseGraph(nn.Module):
    """An mmseg ``EncoderDecoder`` (or this project's
    ``SiameseEncoderDecoder``): per-pixel logits at the input size.

    Args:
        model (nn.Module): The segmentor, in eval mode.
        normalize (Normalize): The input normalisation.
        num_inputs (int): 1 (segmentation) or 2 (change detection: two
            dates, stacked on the channel axis for the model).
    """

    def __init__(self, model: nn.Module, normalize: Normalize,
                 num_inputs: int = 1) -> None:
        super().__init__()
        self.model = model
        self.normalize = normalize
        self.num_inputs = num_inputs

    def forward(self, image: Tensor,
                image_b: Optional[Tensor] = None) -> Tensor:
        """Logits of ``image`` (of date A and ``image_b``, date B)."""
        inputs = self.normalize(image)
        if image_b is not None:
            inputs = torch.cat([inputs, self.normalize(image_b, 1)], 1)
        feats = self.model.extract_feat(inputs)
        head = self.model.decode_head
        logits = head(feats)
        return F.interpolate(logits, size=inputs.shape[2:], mode='bilinear',
                             align_corners=head.align_corners)


class ClassifierGraph(nn.Module):
    """An mmpretrain classifier: ``image`` -> ``logits``."""

    def __init__(self, model: nn.Module, normalize: Normalize) -> None:
        super().__init__()
        self.model = model
        self.normalize = normalize

    def forward(self, image: Tensor) -> Tensor:
        logits = self.model(self.normalize(image), mode='tensor')
        if isinstance(logits, (list, tuple)):
            logits = logits[-1]
        return logits


def norm_angle(angle: Tensor, version: str) -> Tensor:
    """mmrotate's ``norm_angle``."""
    if version == 'oc':
        return angle % (np.pi / 2)
    if version == 'le135':
        return (angle + np.pi / 4) % np.pi - np.pi / 4
    if version == 'le90':
        return (angle + np.pi / 2) % np.pi - np.pi / 2
    raise ValueError(f'Unknown angle version {version!r}.')


def regularize_rboxes(boxes: Tensor, version: str) -> Tensor:
    """mmrotate's ``RotatedBoxes.regularize_boxes(version)``."""
    width_longer, start = dict(oc=(False, -90), le90=(True, -90),
                               le135=(True, -45))[version]
    start = start / 180 * np.pi
    x, y, w, h, t = boxes.unbind(-1)
    if width_longer:
        longer = w > h
        w_, h_ = torch.where(longer, w, h), torch.where(longer, h, w)
        t = torch.where(longer, t, t + np.pi / 2)
        t = ((t - start) % np.pi) + start
    else:
        t = (t - start) % np.pi
        first = t < np.pi / 2
        w_, h_ = torch.where(first, w, h), torch.where(first, h, w)
        t = torch.where(first, t, t - np.pi / 2) + start
    return torch.stack([x, y, w_, h_, t], -1)


def rect_polygons_to_rboxes(polygons: Tensor) -> Tensor:
    """``(..., 8)`` rectangles (four corners in order) -> ``(..., 5)``
    rotated boxes: the closed form of ``cv2.minAreaRect`` for a polygon
    that is a rectangle (before regularisation, which makes both the
    same box)."""
    points = polygons.unflatten(-1, (4, 2))
    first, second, third = points[..., 0, :], points[..., 1, :], \
        points[..., 2, :]
    edge_w, edge_h = second - first, third - second
    w = torch.sqrt((edge_w * edge_w).sum(-1))
    h = torch.sqrt((edge_h * edge_h).sum(-1))
    angle = torch.atan2(edge_w[..., 1], edge_w[..., 0])
    centre = (first + third) / 2
    return torch.cat([centre, torch.stack([w, h, angle], -1)], -1)


def midpoint_offset_decode(anchors: Tensor, deltas: Tensor,
                           coder: nn.Module) -> Tensor:
    """mmrotate's ``MidpointOffsetCoder.decode`` (anchors ``(..., 4)``,
    deltas ``(..., 6)``) -> regularised rotated boxes ``(..., 5)``, with
    the rectangle's closed form in place of ``cv2.minAreaRect``."""
    means = deltas.new_tensor(coder.means)
    stds = deltas.new_tensor(coder.stds)
    dx, dy, dw, dh, da, db = (deltas * stds + means).unbind(-1)
    max_ratio = float(np.abs(np.log(16 / 1000)))
    dw = dw.clamp(min=-max_ratio, max=max_ratio)
    dh = dh.clamp(min=-max_ratio, max=max_ratio)
    px = (anchors[..., 0] + anchors[..., 2]) * 0.5
    py = (anchors[..., 1] + anchors[..., 3]) * 0.5
    pw = anchors[..., 2] - anchors[..., 0]
    ph = anchors[..., 3] - anchors[..., 1]
    gw, gh = pw * dw.exp(), ph * dh.exp()
    gx, gy = px + pw * dx, py + ph * dy
    x1, y1 = gx - gw * 0.5, gy - gh * 0.5
    x2, y2 = gx + gw * 0.5, gy + gh * 0.5
    da, db = da.clamp(min=-0.5, max=0.5), db.clamp(min=-0.5, max=0.5)
    ga, _ga = gx + da * gw, gx - da * gw
    gb, _gb = gy + db * gh, gy - db * gh
    polys = torch.stack([ga, y1, x2, gb, _ga, y2, x1, _gb], -1)
    centre = torch.stack([gx, gy] * 4, -1)
    offsets = (polys - centre).unflatten(-1, (4, 2))
    diag = torch.sqrt((offsets * offsets).sum(-1))  # (..., 4)
    scale = diag.max(-1, keepdim=True).values / diag
    rect = (offsets * scale[..., None]).flatten(-2) + centre
    return regularize_rboxes(rect_polygons_to_rboxes(rect),
                             coder.angle_version)


def rbox_to_hbox(boxes: Tensor) -> Tensor:
    """mmrotate's ``rbox2hbox``."""
    ctr, w, h, theta = boxes[..., :2], boxes[..., 2:3], boxes[..., 3:4], \
        boxes[..., 4:5]
    cos, sin = torch.cos(theta), torch.sin(theta)
    x_bias = torch.abs(w / 2 * cos) + torch.abs(h / 2 * sin)
    y_bias = torch.abs(w / 2 * sin) + torch.abs(h / 2 * cos)
    bias = torch.cat([x_bias, y_bias], -1)
    return torch.cat([ctr - bias, ctr + bias], -1)


class OrientedRCNNGraph(nn.Module):
    """mmrotate's Oriented R-CNN (``mmdet.FasterRCNN`` with an
    ``OrientedRPNHead`` and a rotated RoI head) for a fixed tile size.

    Stage one as mmrotate's test path: per level the ``nms_pre`` best
    anchors, decoded by the midpoint-offset coder, horizontal NMS per
    level (``nms_keep``, ONNX ``NonMaxSuppression``), the
    ``max_per_img`` best proposals. Stage two: rotated RoIAlign
    (:class:`RotatedRoIAlign`, standard operators), the box head, softmax
    and the rotated delta decoding. Every image keeps ``R`` proposal slots
    (``R = min(max_per_img, anchors kept before NMS)``); slots left empty
    by the NMS score 0 in every class.

    Args:
        model (nn.Module): The detector, in eval mode.
        normalize (Normalize): The input normalisation.
        tile (tuple[int, int]): Input ``(h, w)``, a multiple of 32.
    """

    def __init__(self, model: nn.Module, normalize: Normalize,
                 tile: Tuple[int, int]) -> None:
        super().__init__()
        self.model = model
        self.normalize = normalize
        self.tile = (int(tile[0]), int(tile[1]))
        rpn, roi_head = model.rpn_head, model.roi_head
        for part, expected in ((rpn, 'OrientedRPNHead'),
                               (rpn.bbox_coder, 'MidpointOffsetCoder'),
                               (roi_head.bbox_head.bbox_coder,
                                'DeltaXYWHTRBBoxCoder'),
                               (roi_head.bbox_roi_extractor,
                                'RotatedSingleRoIExtractor')):
            if type(part).__name__ != expected:
                raise ValueError(
                    f'The ONNX export of Oriented R-CNN expects a '
                    f'{expected}, this model has {type(part).__name__}.')
        if not roi_head.bbox_head.reg_class_agnostic:
            raise ValueError('The ONNX export of Oriented R-CNN expects '
                             'reg_class_agnostic=True (as the configs).')
        self.rpn_cfg, self.rcnn_cfg = rpn.test_cfg, roi_head.test_cfg
        extractor = roi_head.bbox_roi_extractor
        self.roi_align = RotatedRoIAlign.from_mmcv(
            extractor.roi_layers[0], extractor.featmap_strides,
            extractor.finest_scale)
        # the anchors of every level for this tile size, as constants
        with torch.no_grad():
            feats = model.extract_feat(torch.zeros(1, normalize.mean.shape[1]
                                                   if normalize.enabled
                                                   else 3, *self.tile))
        sizes = [f.shape[2:] for f in feats]
        priors = [getattr(p, 'tensor', p) for p in
                  rpn.prior_generator.grid_priors(sizes, device='cpu')]
        self.num_levels = len(priors)
        for level, anchors in enumerate(priors):
            self.register_buffer(f'anchors_{level}', anchors.float(),
                                 persistent=False)
        nms_pre = int(self.rpn_cfg.get('nms_pre', -1))
        self.level_sizes = [
            min(nms_pre, len(p)) if nms_pre > 0 else len(p) for p in priors]
        self.register_buffer('levels', torch.cat([
            torch.full((n, ), i, dtype=torch.long)
            for i, n in enumerate(self.level_sizes)]), persistent=False)
        self.num_proposals = min(int(self.rpn_cfg.max_per_img),
                                 sum(self.level_sizes))
        self.min_bbox_size = float(self.rpn_cfg.get('min_bbox_size', -1))

    def proposals(self, feats: List[Tensor]) -> Tuple[Tensor, Tensor]:
        """``(B, R, 5)`` proposals and their ``(B, R)`` validity."""
        rpn = self.model.rpn_head
        cls_scores, bbox_preds = rpn(tuple(feats))
        batch = cls_scores[0].shape[0]
        scores, boxes = [], []
        for level, (cls_score, bbox_pred) in enumerate(zip(cls_scores,
                                                           bbox_preds)):
            score = cls_score.permute(0, 2, 3, 1).reshape(batch, -1)
            score = score.sigmoid() if rpn.use_sigmoid_cls else \
                score.reshape(batch, -1, 2).softmax(-1)[..., 0]
            delta = bbox_pred.permute(0, 2, 3, 1).reshape(batch, -1, 6)
            anchors = getattr(self, f'anchors_{level}')
            score, index = score.topk(self.level_sizes[level], dim=1)
            delta = torch.gather(delta, 1, index[..., None].expand(-1, -1,
                                                                    6))
            boxes.append(midpoint_offset_decode(anchors[index], delta,
                                                rpn.bbox_coder))
            scores.append(score)
        scores, boxes = torch.cat(scores, 1), torch.cat(boxes, 1)
        if self.min_bbox_size >= 0:
            valid = (boxes[..., 2] > self.min_bbox_size) & \
                (boxes[..., 3] > self.min_bbox_size)
            scores = torch.where(valid, scores, -1.)
        keep = nms_keep(rbox_to_hbox(boxes), scores, self.levels,
                        float(self.rpn_cfg.nms.iou_threshold),
                        self.num_levels)
        ranked, index = torch.where(keep, scores, -1.).topk(
            self.num_proposals, dim=1)
        proposals = torch.gather(boxes, 1,
                                 index[..., None].expand(-1, -1, 5))
        return proposals, ranked >= 0

    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor]:
        feats = self.model.extract_feat(self.normalize(image))
        proposals, valid = self.proposals(list(feats))
        roi_head = self.model.roi_head
        head = roi_head.bbox_head
        batch, rois = proposals.shape[:2]
        roi_feats = self.roi_align(list(feats), proposals)
        cls_score, bbox_pred = head(roi_feats.flatten(0, 1))
        scores = F.softmax(cls_score, -1)[:, :-1].reshape(batch, rois, -1)
        scores = scores * valid[..., None].to(scores.dtype)
        from mmrotate.models.task_modules.coders.delta_xywht_rbbox_coder \
            import delta2bbox
        coder = head.bbox_coder
        boxes = delta2bbox(
            proposals.reshape(-1, 5), bbox_pred.reshape(-1, 5), coder.means,
            coder.stds, self.tile, 16 / 1000, coder.add_ctr_clamp,
            coder.ctr_clamp, coder.angle_version, coder.norm_factor,
            coder.edge_swap, coder.proj_xy)
        return boxes.reshape(batch, rois, 5), scores
