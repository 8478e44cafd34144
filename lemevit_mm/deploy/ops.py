"""Operators of the exported graphs that are not plain PyTorch layers:
non-maximum suppression as ONNX's standard ``NonMaxSuppression``.

``nms_keep`` is a PyTorch custom operator with a fixed output shape (a
keep mask), so that ``torch.export`` traces the detector without
data-dependent sizes; in PyTorch it runs mmcv's (or torchvision's)
``batched_nms``, in the ONNX graph ONNX's ``NonMaxSuppression`` with one
class per group (the RPN's pyramid levels), which suppresses as mmcv's
``nms`` does (IoU of ``(x2 - x1) * (y2 - y1)`` areas, greater than the
threshold).
"""
import torch
from torch import Tensor

__all__ = ['nms_keep', 'onnx_translations']


@torch.library.custom_op('lemevit_deploy::nms_keep', mutates_args=())
def nms_keep(boxes: Tensor, scores: Tensor, groups: Tensor,
             iou_threshold: float, num_groups: int) -> Tensor:
    """Which boxes survive non-maximum suppression within their group.

    Args:
        boxes (Tensor): ``(B, N, 4)`` horizontal boxes ``x1, y1, x2, y2``.
        scores (Tensor): ``(B, N)``; a negative score takes no part.
        groups (Tensor): ``(N,)`` int64 group of each box, in
            ``[0, num_groups)``; boxes of different groups never
            suppress each other.
        iou_threshold (float): A box overlapping a higher-scoring kept
            box of its group by more than this is suppressed.
        num_groups (int): The number of groups.

    Returns:
        Tensor: ``(B, N)`` bool keep mask.
    """
    keep = torch.zeros(scores.shape, dtype=torch.bool,
                       device=scores.device)
    try:
        from mmcv.ops import batched_nms
    except ImportError:  # the same suppression in torchvision
        from torchvision.ops import batched_nms as tv_batched_nms

        def batched_nms(b, s, g, cfg):
            return None, tv_batched_nms(b, s, g, cfg['iou_threshold'])
    for image in range(scores.shape[0]):
        candidates = (scores[image] >= 0).nonzero().squeeze(1)
        if candidates.numel() == 0:
            continue
        _, kept = batched_nms(
            boxes[image, candidates].float(),
            scores[image, candidates].float(), groups[candidates],
            dict(type='nms', iou_threshold=iou_threshold))
        keep[image, candidates[kept]] = True
    return keep


@nms_keep.register_fake
def _nms_keep_fake(boxes: Tensor, scores: Tensor, groups: Tensor,
                   iou_threshold: float, num_groups: int) -> Tensor:
    return scores.new_empty(scores.shape, dtype=torch.bool)


def _nms_keep_onnx(boxes, scores, groups, iou_threshold: float,
                   num_groups: int):
    """``nms_keep`` in standard ONNX operators (opset 18)."""
    from onnxscript import opset18 as op
    ids = op.Constant(value_ints=list(range(num_groups)))
    member = op.Equal(op.Unsqueeze(groups, op.Constant(value_ints=[0])),
                      op.Unsqueeze(ids, op.Constant(value_ints=[1])))
    # (B, groups, N): a box scores in its own group only
    per_group = op.Where(member,
                         op.Unsqueeze(scores, op.Constant(value_ints=[1])),
                         op.Constant(value_float=-1.0))
    selected = op.NonMaxSuppression(
        boxes, per_group, op.Constant(value_ints=[1 << 30]),
        op.Constant(value_floats=[float(iou_threshold)]),
        op.Constant(value_floats=[-0.5]))
    # (S, 2): image and box of each kept box
    where = op.Gather(selected, op.Constant(value_ints=[0, 2]), axis=1)
    ones = op.Expand(op.Constant(value_float=1.0),
                     op.Shape(selected, start=0, end=1))
    mask = op.ScatterND(op.ConstantOfShape(op.Shape(scores)), where, ones)
    return op.Cast(mask, to=9)  # BOOL


def onnx_translations() -> dict:
    """The ``custom_translation_table`` of ``torch.onnx.export`` for the
    operators of this module."""
    return {torch.ops.lemevit_deploy.nms_keep.default: _nms_keep_onnx}
