"""The rotated RoIAlign of the exported detector (an affine sampling grid
and GridSample) against mmcv's RoIAlignRotated and mmrotate's
multi-level RotatedSingleRoIExtractor."""
import numpy as np
import pytest
import torch

from lemevit_mm.deploy.roi_align import RotatedRoIAlign, roi_levels

ops = pytest.importorskip('mmcv.ops')


def random_boxes(rng, count, height, width, low=4., high=300.):
    """Rotated boxes (image pixels) over and beyond an image, any angle,
    some far outside, some thin."""
    cx = rng.uniform(-0.2 * width, 1.2 * width, count)
    cy = rng.uniform(-0.2 * height, 1.2 * height, count)
    w = np.exp(rng.uniform(np.log(low), np.log(high), count))
    h = w * np.exp(rng.uniform(np.log(0.05), 0., count))
    angle = rng.uniform(-np.pi, np.pi, count)
    return torch.tensor(np.stack([cx, cy, w, h, angle], 1),
                        dtype=torch.float32)


@pytest.mark.parametrize('aligned,clockwise', [(True, True), (True, False),
                                               (False, True)])
def test_single_level_matches_mmcv(aligned, clockwise):
    rng = np.random.RandomState(0)
    feats = torch.randn(2, 5, 23, 31)  # stride 4 of a 92 x 124 image
    boxes = torch.stack([random_boxes(rng, 60, 92, 124, high=120.)
                         for _ in range(2)])
    ours = RotatedRoIAlign([4], 7, 2, aligned, clockwise, chunk=25)
    got = ours([feats], boxes)
    rois = torch.cat([torch.cat([torch.full((60, 1), float(b)), boxes[b]],
                                1) for b in range(2)])
    mmcv_layer = ops.RoIAlignRotated(7, spatial_scale=0.25,
                                     sampling_ratio=2, aligned=aligned,
                                     clockwise=clockwise)
    expected = mmcv_layer(feats, rois).view(2, 60, 5, 7, 7)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() < 1e-5
    assert expected.abs().max() > 0.5  # the boxes sample real values


def test_pyramid_matches_rotated_single_roi_extractor():
    """RoIs of every size go to the level mmrotate maps them to."""
    from mmrotate.models.roi_heads.roi_extractors import \
        RotatedSingleRoIExtractor
    extractor = RotatedSingleRoIExtractor(
        roi_layer=dict(type='RoIAlignRotated', out_size=7, sample_num=2,
                       clockwise=True),
        out_channels=6, featmap_strides=[4, 8, 16, 32])
    rng = np.random.RandomState(1)
    size = 256
    feats = [torch.randn(2, 6, size // s, size // s) for s in (4, 8, 16, 32)]
    boxes = torch.stack([random_boxes(rng, 80, size, size, 8., 900.)
                         for _ in range(2)])
    levels = roi_levels(boxes, 4)
    assert set(levels.unique().tolist()) == {0, 1, 2, 3}
    rois = torch.cat([torch.cat([torch.full((80, 1), float(b)), boxes[b]],
                                1) for b in range(2)])
    expected = extractor(feats, rois).view(2, 80, 6, 7, 7)
    ours = RotatedRoIAlign.from_mmcv(extractor.roi_layers[0],
                                     extractor.featmap_strides,
                                     extractor.finest_scale)
    got = ours(feats, boxes)
    assert (got - expected).abs().max() < 1e-5


def test_adaptive_sampling_is_refused():
    with pytest.raises(ValueError, match='sampling_ratio > 0'):
        RotatedRoIAlign([4], 7, 0)
    layer = ops.RoIAlignRotated(7, 0.25, sampling_ratio=0)
    with pytest.raises(ValueError, match='sampling_ratio'):
        RotatedRoIAlign.from_mmcv(layer, [4])
