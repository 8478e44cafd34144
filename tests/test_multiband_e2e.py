"""N-band training end to end on generated data, every dense task: a few
iterations through MMEngine's runner (as tools/train.py runs it), finite
losses, and the checkpoint loads into a fresh model and predicts.

- segmentation: 5-band RGB + IR + nDSM Potsdam tiles from an RGB
  checkpoint (``adapt_channels='zero'``), and 13-band uint16 Sentinel-2
  tiles with nodata (``'mean'``, R, G, B at bands 3, 2, 1);
- change detection: 4 bands per date, Siamese LeMeViT + BIT;
- oriented detection: 4-band DOTA-style patches, Oriented R-CNN
  (``'repeat'``).
"""
import copy
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS
from mmengine.runner import Runner, load_checkpoint

import lemevit_mm  # noqa: F401
from lemevit_mm.apis import setup_task
from lemevit_mm.models import LeMeViT
from lemevit_mm.testing.cd import make_synthetic_cd
from lemevit_mm.testing.rasters import write_tiff
from lemevit_mm.testing.seg import make_potsdam_sample
from lemevit_mm.testing.sentinel2 import make_sentinel2_sample

from helpers import REPO, model_index_parsed_once

SEG = osp.join(REPO, 'configs', 'seg')
SIZE = 64


@pytest.fixture(scope='module', autouse=True)
def _fast_config_parsing():
    """Parse each package's model index once (see tests/helpers.py)."""
    with model_index_parsed_once():
        yield


@pytest.fixture(scope='module')
def rgb_checkpoint(tmp_path_factory) -> str:
    """An RGB LeMeViT-tiny backbone checkpoint (random weights)."""
    path = str(tmp_path_factory.mktemp('rgb') / 'lemevit_tiny_rgb.pth')
    torch.save({'state_dict': LeMeViT('tiny').state_dict()}, path)
    return path


def resized(pipeline: list, size: int = SIZE) -> list:
    """``pipeline`` with its resizes and crops at ``size``."""
    steps = []
    for step in pipeline:
        step = copy.deepcopy(step)
        if step['type'] in ('Resize', 'RandomResize', 'mmdet.Resize'):
            step['scale'] = (size, size)
        if step['type'] == 'RandomCrop':
            step['crop_size'] = (size, size)
        steps.append(step)
    return steps


def quick(cfg: Config, work_dir, iters: int = 2) -> Config:
    """A CPU run of ``iters`` iterations, no workers, batch 2."""
    cfg.work_dir = str(work_dir)
    cfg.launcher = 'none'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader):
            cfg[loader].num_workers = 0
            cfg[loader].persistent_workers = False
    cfg.train_dataloader.batch_size = 2
    cfg.default_hooks.logger.interval = 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0,
                                by_epoch=False)]
    if cfg.train_cfg.get('type') == 'EpochBasedTrainLoop':
        cfg.train_cfg.update(max_epochs=1, val_interval=1)
    else:
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters,
                             val_interval=iters)
        cfg.default_hooks.checkpoint.update(by_epoch=False,
                                            interval=iters)
    return cfg


def train_and_reload(cfg: Config, checkpoint_name: str):
    """Train ``cfg``; check the losses, load the checkpoint into a fresh
    model; return (fresh model, runner)."""
    setup_task(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) > 0 and np.isfinite(losses).all(), losses
    checkpoint = osp.join(cfg.work_dir, checkpoint_name)
    assert osp.isfile(checkpoint)
    fresh_cfg = copy.deepcopy(cfg.model)
    fresh_cfg.backbone.init_cfg = None
    fresh = MODELS.build(fresh_cfg)
    load_checkpoint(fresh, checkpoint, strict=True)
    for name, value in runner.model.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[name], value,
                                   msg=name)
    return fresh.eval(), runner


def predict(model, runner, loader=None):
    """Predictions of ``model`` on the first batch of ``loader`` (default:
    the validation loader)."""
    loader = runner.val_dataloader if loader is None else \
        runner.build_dataloader(loader)
    data = next(iter(loader))
    with torch.no_grad():
        return data, model.test_step(data)


# ----------------------------------------------------------- segmentation
def seg_config(path: str, data_root: str, work_dir) -> Config:
    cfg = quick(Config.fromfile(path), work_dir)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
        cfg[loader].dataset.pipeline = resized(cfg[loader].dataset.pipeline)
    cfg.model.data_preprocessor.size = (SIZE, SIZE)
    # Narrow heads: the bands only reach the backbone's stem.
    cfg.model.decode_head.update(channels=32, pool_scales=(1, 2))
    cfg.model.auxiliary_head.channels = 16
    if cfg.model.test_cfg.mode == 'slide':
        cfg.model.test_cfg.update(crop_size=(SIZE, SIZE), stride=(48, 48))
    return cfg


def test_five_band_segmentation_from_an_rgb_checkpoint(tmp_path,
                                                       rgb_checkpoint):
    root = str(tmp_path / 'data')
    make_potsdam_sample(root, 2, 1, size=SIZE, bands='rgbir-dsm')
    cfg = seg_config(osp.join(SEG, 'lemevit_t_upernet_potsdam-rgbir-dsm.py'),
                     root, tmp_path / 'work')
    cfg.model.backbone.init_cfg.checkpoint = rgb_checkpoint
    model, runner = train_and_reload(cfg, 'iter_2.pth')
    data, preds = predict(model, runner)
    assert data['inputs'][0].shape == (5, SIZE, SIZE)
    assert preds[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)
    assert int(preds[0].pred_sem_seg.data.max()) < 5


def test_13_band_uint16_segmentation_with_nodata(tmp_path, rgb_checkpoint):
    root = str(tmp_path / 'data')
    make_sentinel2_sample(root, num_train=3, num_val=1, size=SIZE)
    cfg = seg_config(
        osp.join(SEG, 'lemevit_t_upernet_sentinel2-13band_sample.py'), root,
        tmp_path / 'work')
    cfg.model.backbone.init_cfg.checkpoint = rgb_checkpoint
    model, runner = train_and_reload(cfg, 'iter_2.pth')
    data, preds = predict(model, runner)
    assert data['inputs'][0].dtype == torch.uint16
    assert data['inputs'][0].shape == (13, SIZE, SIZE)
    assert preds[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)


# ------------------------------------------------------ change detection
def test_four_band_change_detection(tmp_path):
    root = make_synthetic_cd(str(tmp_path / 'cd'),
                             dict(train=2, val=1, test=1), size=SIZE,
                             bands=4)
    bands = (1, 2, 3, 4)
    cfg = quick(Config.fromfile(osp.join(REPO, 'configs', 'cd',
                                         'lemevit_t_bit_cdd.py')),
                tmp_path / 'work')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        dataset.update(data_root=root, img_suffix='.tif',
                       img_suffix2='.tif', seg_map_suffix='.png')
        steps = []
        for step in resized(dataset.pipeline):
            if step['type'] == 'BiTemporalPhotoMetricDistortion':
                continue  # colour jitter: RGB only
            if step['type'] == 'LoadImagePairFromFile':
                step = dict(type='LoadMultiBandImagePairFromFile',
                            bands=bands)
            steps.append(step)
            if step['type'] == 'LoadChangeAnnotation':
                steps.append(dict(type='IgnoreNodataLabels'))
        dataset.pipeline = steps
    cfg.model.image_channels = len(bands)
    cfg.model.backbone.in_channels = len(bands)
    cfg.model.data_preprocessor.update(
        mean=[123.675, 116.28, 103.53, 110.0] * 2,
        std=[58.395, 57.12, 57.375, 60.0] * 2, size=(SIZE, SIZE))
    model, runner = train_and_reload(cfg, 'epoch_1.pth')
    data, preds = predict(model, runner)
    assert data['inputs'][0].shape == (8, SIZE, SIZE)
    assert set(preds[0].pred_sem_seg.data.unique().tolist()) <= {0, 1}


# ------------------------------------------------------------ detection
def test_four_band_oriented_detection(tmp_path, rgb_checkpoint):
    from lemevit_mm.testing.det import make_synthetic_dota
    from lemevit_mm.raster import read_image
    raw = str(tmp_path / 'dota')
    make_synthetic_dota(raw, dict(train=2), image_size=(128, 128),
                        objects_per_image=(3, 4), seed=0)
    images = osp.join(raw, 'train', 'images')
    for png in glob.glob(osp.join(images, '*.png')):
        rgb = read_image(png)
        infrared = rgb.mean(axis=2, keepdims=True).astype(np.uint8)
        write_tiff(png[:-4] + '.tif', np.dstack([rgb, infrared]))
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'det',
                                   'lemevit_t_oriented-rcnn_dota.py'))
    cfg.model.backbone.update(
        in_channels=4,
        init_cfg=dict(type='Pretrained', checkpoint=rgb_checkpoint,
                      adapt_channels='repeat'))
    cfg.model.data_preprocessor = dict(
        type='MultiBandDetDataPreprocessor',
        mean=[123.675, 116.28, 103.53, 114.5],
        std=[58.395, 57.12, 57.375, 57.6], bgr_to_rgb=False,
        pad_size_divisor=32, boxtype2tensor=False)
    cfg.model.neck.out_channels = 64
    cfg.model.rpn_head.update(in_channels=64, feat_channels=64)
    cfg.model.roi_head.bbox_roi_extractor.out_channels = 64
    cfg.model.roi_head.bbox_head.update(in_channels=64, fc_out_channels=128)
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    cfg.model.train_cfg.rcnn.sampler.num = 64
    cfg.model.test_cfg.rpn.update(nms_pre=200, max_per_img=100)
    pipeline = [
        dict(type='LoadMultiBandImageFromFile', bands=(1, 2, 3, 4)),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
        dict(type='mmdet.Resize', scale=(128, 128), keep_ratio=True),
        dict(type='mmdet.RandomFlip', prob=0.5),
        dict(type='mmdet.PackDetInputs', meta_keys=(
            'img_id', 'img_path', 'ori_shape', 'img_shape',
            'scale_factor')),
    ]
    dataset = dict(type='CheckedDOTADataset', data_root=raw,
                   ann_file='train/labelTxt/',
                   data_prefix=dict(img_path='train/images/'),
                   img_suffix='.tif', img_shape=(128, 128),
                   pipeline=pipeline)
    cfg.train_dataloader.dataset = dict(
        dataset, filter_cfg=dict(filter_empty_gt=True))
    test_loader = dict(cfg.val_dataloader, num_workers=0,
                       persistent_workers=False,
                       dataset=dict(dataset, test_mode=True))
    for part in ('val', 'test'):
        cfg[f'{part}_dataloader'] = cfg[f'{part}_cfg'] = \
            cfg[f'{part}_evaluator'] = None
    cfg = quick(cfg, tmp_path / 'work')
    cfg.default_hooks.checkpoint.update(save_optimizer=False)
    model, runner = train_and_reload(cfg, 'epoch_1.pth')
    data, preds = predict(model, runner, test_loader)
    assert data['inputs'][0].shape[0] == 4
    boxes = preds[0].pred_instances.bboxes
    assert boxes.dim() == 2 and boxes.shape[1] == 5  # rotated boxes
