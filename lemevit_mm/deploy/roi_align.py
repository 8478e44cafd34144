"""Rotated RoIAlign in standard operators: an affine sampling grid per
RoI and one ``grid_sample`` (ONNX ``GridSample``) over all feature levels.

mmcv's ``RoIAlignRotated`` (the RoI layer of Oriented R-CNN) is a custom
kernel, which ONNX Runtime and OpenVINO do not have. The same numbers
come out of standard operators:

- every bin of the ``out_size x out_size`` output averages
  ``sampling_ratio x sampling_ratio`` bilinear samples, placed as mmcv
  places them (``aligned=True``: the box centre moves by half a pixel;
  ``clockwise``: the angle's sign), rotated about the box centre;
- mmcv's bilinear sampling reads 0 for a point more than one pixel
  outside the map and clamps the others to the border: the points are
  clamped here and their samples multiplied by that validity;
- the levels of the feature pyramid are stacked into one *atlas* (level
  ``i`` below level ``i - 1``), so one ``GridSample`` serves every RoI,
  whatever its level (mmrotate's ``RotatedSingleRoIExtractor`` maps a RoI
  of size ``sqrt(w h)`` to level ``floor(log2(sqrt(w h) / 56))``). The
  points are clamped inside their own level, so a bilinear sample never
  mixes two levels. The atlas is padded to ``2^k + 1`` rows and columns:
  the normalised coordinates of ``GridSample`` (``align_corners=True``)
  then scale by a power of two, without rounding.

A fixed ``sampling_ratio`` (2 in the configs) is required: mmcv's
adaptive one (0) takes a number of samples that depends on each RoI's
size, which has no fixed-shape form.
"""
import math
from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['roi_levels', 'RotatedRoIAlign']


def roi_levels(boxes: Tensor, num_levels: int,
               finest_scale: float = 56.) -> Tensor:
    """The pyramid level of each rotated box ``(..., 5)`` (image pixels),
    as mmrotate's ``RotatedSingleRoIExtractor.map_roi_levels``."""
    scale = torch.sqrt(boxes[..., 2] * boxes[..., 3])
    levels = torch.floor(torch.log2(scale / finest_scale + 1e-6))
    return levels.clamp(min=0, max=num_levels - 1).long()


def _padded(size: int) -> int:
    """The smallest ``2^k + 1 >= size``."""
    return 2**max(1, math.ceil(math.log2(max(size - 1, 1)))) + 1


class RotatedRoIAlign(torch.nn.Module):
    """mmcv's ``RoIAlignRotated`` over a feature pyramid, in standard ops.

    Args:
        strides (Sequence[int]): Stride of each feature level.
        out_size (int): Output bins per side. Defaults to 7.
        sampling_ratio (int): Samples per bin and side (> 0). Defaults
            to 2.
        aligned (bool): mmcv's ``aligned`` (half-pixel shift). Defaults to
            True.
        clockwise (bool): mmcv's ``clockwise``. Defaults to True.
        finest_scale (float): Scale of level 0. Defaults to 56.
        chunk (int): RoIs sampled per ``GridSample`` (bounds the memory of
            the samples: ``C x chunk x (out_size x sampling_ratio)^2``
            floats). Defaults to 512.
    """

    def __init__(self, strides: Sequence[int], out_size: int = 7,
                 sampling_ratio: int = 2, aligned: bool = True,
                 clockwise: bool = True, finest_scale: float = 56.,
                 chunk: int = 512) -> None:
        super().__init__()
        if sampling_ratio <= 0:
            raise ValueError(
                'RotatedRoIAlign needs a fixed sampling_ratio > 0 (the '
                'configs use 2): an adaptive one (0) samples each RoI a '
                'number of times that depends on its size, which has no '
                'fixed-shape ONNX form.')
        self.strides = [int(s) for s in strides]
        self.out_size = int(out_size)
        self.sampling_ratio = int(sampling_ratio)
        self.aligned = aligned
        self.clockwise = clockwise
        self.finest_scale = float(finest_scale)
        self.chunk = int(chunk)
        grid = (torch.arange(self.out_size * self.sampling_ratio,
                             dtype=torch.float32) + 0.5) / (
                                 self.out_size * self.sampling_ratio)
        # offsets of the samples in units of the box size, from -1/2
        self.register_buffer('unit', grid - 0.5, persistent=False)

    @classmethod
    def from_mmcv(cls, roi_layer: torch.nn.Module,
                  strides: Sequence[int], finest_scale: float = 56.
                  ) -> 'RotatedRoIAlign':
        """The same layer as an mmcv ``RoIAlignRotated`` (any level's)."""
        kind = type(roi_layer).__name__
        if kind != 'RoIAlignRotated':
            raise ValueError(
                f'RotatedRoIAlign reproduces mmcv\'s RoIAlignRotated; this '
                f'model\'s RoI layer is {kind} (not supported by the ONNX '
                'export).')
        size = roi_layer.output_size
        size = size if isinstance(size, int) else size[0]
        return cls(strides, int(size), int(roi_layer.sampling_ratio),
                   bool(roi_layer.aligned), bool(roi_layer.clockwise),
                   finest_scale)

    def atlas(self, feats: Sequence[Tensor]) -> Tensor:
        """The levels stacked on the height axis, zero-padded to
        ``2^k + 1`` rows and columns: ``(B, C, H', W')``."""
        width = _padded(max(f.shape[3] for f in feats))
        parts = [F.pad(f, (0, width - f.shape[3])) for f in feats]
        rows = sum(f.shape[2] for f in feats)
        if _padded(rows) > rows:
            parts.append(feats[0].new_zeros(
                (feats[0].shape[0], feats[0].shape[1], _padded(rows) - rows,
                 width)))
        return torch.cat(parts, 2)

    def forward(self, feats: List[Tensor], boxes: Tensor) -> Tensor:
        """Features ``(B, R, C, out, out)`` of ``boxes`` ``(B, R, 5)``
        (``cx, cy, w, h, angle``, image pixels; the boxes of image ``b``
        read image ``b``'s maps)."""
        feats = feats[:len(self.strides)]
        num_levels = len(feats)
        heights = [int(f.shape[2]) for f in feats]
        widths = [int(f.shape[3]) for f in feats]
        tops = [sum(heights[:i]) for i in range(num_levels)]
        atlas = self.atlas(feats)
        atlas_h, atlas_w = int(atlas.shape[2]), int(atlas.shape[3])
        batch, num_rois = boxes.shape[0], boxes.shape[1]
        level = roi_levels(boxes, num_levels, self.finest_scale)
        table = boxes.new_tensor([[1. / s, t, h, w] for s, t, h, w in zip(
            self.strides, tops, heights, widths)])
        scale, top, height, width = table[level].unbind(-1)  # (B, R)
        offset = 0.5 if self.aligned else 0.
        cx = boxes[..., 0] * scale - offset
        cy = boxes[..., 1] * scale - offset
        w = boxes[..., 2] * scale
        h = boxes[..., 3] * scale
        if not self.aligned:
            w, h = w.clamp(min=1.), h.clamp(min=1.)
        theta = -boxes[..., 4] if self.clockwise else boxes[..., 4]
        cos, sin = torch.cos(theta), torch.sin(theta)
        n = self.out_size * self.sampling_ratio
        # (B, R, n, 1) along the box height, (B, R, 1, n) along its width
        yy = (h[..., None] * self.unit)[..., :, None]
        xx = (w[..., None] * self.unit)[..., None, :]
        y = yy * cos[..., None, None] - xx * sin[..., None, None] + \
            cy[..., None, None]
        x = yy * sin[..., None, None] + xx * cos[..., None, None] + \
            cx[..., None, None]
        height, width = height[..., None, None], width[..., None, None]
        valid = (y >= -1) & (y <= height) & (x >= -1) & (x <= width)
        y = torch.minimum(y.clamp(min=0), height - 1) + top[..., None, None]
        x = torch.minimum(x.clamp(min=0), width - 1)
        # (B, R, n, n, 2), normalised for align_corners=True
        grid = torch.stack([x * (2. / (atlas_w - 1)) - 1,
                            y * (2. / (atlas_h - 1)) - 1], -1)
        valid = valid.to(atlas.dtype)
        outputs = []
        for start in range(0, num_rois, self.chunk):
            part = grid[:, start:start + self.chunk]
            rois = part.shape[1]
            samples = F.grid_sample(
                atlas, part.reshape(batch, rois * n, n, 2), mode='bilinear',
                padding_mode='zeros', align_corners=True)
            samples = samples * valid[:, start:start + self.chunk].reshape(
                batch, 1, rois * n, n)
            # mean over the sampling_ratio^2 samples of every bin
            pooled = F.avg_pool2d(samples, self.sampling_ratio)
            outputs.append(pooled.reshape(
                batch, -1, rois, self.out_size, self.out_size))
        out = torch.cat(outputs, 2) if len(outputs) > 1 else outputs[0]
        return out.transpose(1, 2)
