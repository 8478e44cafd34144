"""Segmentation benchmarks: LoveDA (urban/rural, the test submission
PNGs) and iSAID (patches cut from the originals). Converters on generated
downloads, one training iteration, mIoU checked by hand."""
import copy
import os
import os.path as osp
import sys
import zipfile

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

import lemevit_mm  # noqa: F401
from lemevit_mm.seg.benchmark_conversion import (ISAID_IGNORE,
                                                 patch_windows)
from lemevit_mm.testing.samples_seg import (make_isaid_sample,
                                            make_loveda_sample)

from helpers import REPO, fast_runner_configs, load_config, load_tool

CONFIGS = osp.join(REPO, 'configs', 'seg')
SIZE = 64


@pytest.fixture(scope='module', autouse=True)
def _fast_configs():
    with fast_runner_configs():
        yield


def run_main(tool: str, *args: str):
    module = load_tool(f'tools/dataset_converters/{tool}')
    argv = sys.argv
    sys.argv = [tool, *args]
    try:
        module.main()
    except SystemExit as stop:
        return (stop.code if isinstance(stop.code, int) else 1), str(stop)
    finally:
        sys.argv = argv
    return 0, ''


def small_run(cfg: Config, data_root: str, work_dir: str) -> Config:
    """One CPU iteration on 64 px crops with narrow heads."""
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (SIZE, SIZE)
    cfg.model.decode_head.channels = 32
    cfg.model.auxiliary_head.channels = 16
    cfg.model.test_cfg = dict(mode='slide', crop_size=(SIZE, SIZE),
                              stride=(48, 48))
    for name in ('train_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.update(batch_size=2 if name.startswith('train') else 1,
                      num_workers=0, persistent_workers=False)
        if name.startswith('train'):
            loader.sampler = dict(type='DefaultSampler', shuffle=False)
        loader.dataset.data_root = data_root
        for step in loader.dataset.pipeline:
            if step['type'] in ('RandomResize', 'Resize'):
                step['scale'] = (SIZE, SIZE)
            if step['type'] == 'RandomCrop':
                step['crop_size'] = (SIZE, SIZE)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0,
                                by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1,
                                        by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.pop('visualization', None)
    cfg.work_dir = work_dir
    cfg.experiment_name = osp.basename(work_dir)
    return cfg


def train_and_test(cfg: Config) -> dict:
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1
    return runner.test()


# ---------------------------------------------------------------------
# LoveDA
# ---------------------------------------------------------------------
@pytest.fixture(scope='module')
def loveda(tmp_path_factory):
    root = tmp_path_factory.mktemp('loveda')
    download = root / 'download'
    ids = make_loveda_sample(str(download), per_domain=1, size=SIZE)
    # a bad mask, added to Train.zip: ids beyond 7
    bad = np.full((SIZE, SIZE), 9, np.uint8)
    bad_path = root / 'bad.png'
    Image.fromarray(bad).save(bad_path)
    with zipfile.ZipFile(download / 'Train.zip', 'a') as archive:
        archive.write(bad_path, 'Train/Urban/masks_png/99.png')
        archive.write(bad_path, 'Train/Urban/images_png/99.png')
    out = str(root / 'loveDA')
    code, message = run_main('loveda.py', str(download), out)
    assert code == 0, message
    return dict(root=root, ids=ids, out=out)


def test_loveda_converter_layout_domains_and_bad_mask(loveda, capsys):
    out, ids = loveda['out'], loveda['ids']
    for split, folder in (('train', 'Train'), ('val', 'Val'),
                          ('test', 'Test')):
        for domain in ('Urban', 'Rural'):
            listed = open(osp.join(out, 'meta', f'{split}_'
                                   f'{domain.lower()}.txt')).read().split()
            assert listed == ids[folder][domain]
            for img_id in listed:
                assert osp.isfile(osp.join(out, 'img_dir', split,
                                           f'{img_id}.png'))
                assert osp.isfile(osp.join(
                    out, 'ann_dir', split, f'{img_id}.png')) == (
                        split != 'test')
    # the bad mask was left out, with its reason
    assert not osp.exists(osp.join(out, 'img_dir', 'train', '99.png'))
    code, message = run_main('loveda.py', str(loveda['root'] / 'download'),
                             str(loveda['root'] / 'again'))
    printed = capsys.readouterr().out
    assert code == 0 and '99.png: label ids [9] outside 0-7' in printed


def test_loveda_trains_scores_miou_and_writes_submission(loveda, tmp_path):
    cfg = load_config(osp.join(CONFIGS, 'lemevit_t_upernet_loveda.py'))
    assert cfg.model.decode_head.num_classes == 7
    assert cfg.test_evaluator.type == 'IoUMetric'
    metrics = train_and_test(small_run(cfg, loveda['out'],
                                       str(tmp_path / 'work')))
    assert 0.0 <= metrics['mIoU'] <= 100.0
    # The test split: one PNG of class indices 0-6 per image, zipped.
    submit = load_config(osp.join(CONFIGS,
                                      'lemevit_t_upernet_loveda_test.py'))
    prefix = str(tmp_path / 'submission' / 'Result')
    submit = small_run(submit, loveda['out'], str(tmp_path / 'submit'))
    submit.test_evaluator.outfile_prefix = prefix
    submit.test_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
    submit.load_from = str(tmp_path / 'work' / 'iter_1.pth')
    from mmengine.runner import Runner
    assert Runner.from_cfg(submit).test() == {}
    names = sorted(os.listdir(prefix))
    test_ids = loveda['ids']['Test']
    assert names == sorted(f'{i}.png' for d in test_ids.values()
                           for i in d)
    with zipfile.ZipFile(prefix + '.zip') as archive:
        assert sorted(archive.namelist()) == names
    for name in names:
        pred = np.asarray(Image.open(osp.join(prefix, name)))
        assert pred.shape == (SIZE, SIZE) and pred.dtype == np.uint8
        assert pred.max() <= 6


def test_miou_by_hand():
    from mmseg.evaluation import IoUMetric
    gt = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1]])

    def miou(pred):
        metric = IoUMetric(iou_metrics=['mIoU'])
        metric.dataset_meta = dict(classes=('a', 'b'))
        metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]),
                                 gt_sem_seg=dict(data=gt[None]))])
        return metric.evaluate(1)['mIoU']

    assert miou(gt) == 100.0
    # one "b" pixel predicted as "a": IoU a = 4/5, b = 3/4
    pred = gt.clone()
    pred[0, 2] = 0
    assert miou(pred) == pytest.approx((80.0 + 75.0) / 2, abs=0.01)


# ---------------------------------------------------------------------
# iSAID
# ---------------------------------------------------------------------
@pytest.fixture(scope='module')
def isaid(tmp_path_factory):
    root = tmp_path_factory.mktemp('isaid')
    download = root / 'download'
    drawn = make_isaid_sample(str(download), dict(
        train=[(80, 100), (SIZE, SIZE)], val=[(40, 90)], test=[(70, 70)]))
    out = str(root / 'iSAID')
    code, message = run_main('isaid.py', str(download), out,
                             '--patch-size', str(SIZE), '--overlap', '16')
    assert code == 0, message
    return dict(drawn=drawn, out=out)


def test_isaid_patches_match_the_originals(isaid):
    out = isaid['out']
    assert patch_windows(80, 100, SIZE, 16) == [
        (0, 64, 0, 64), (16, 80, 0, 64), (0, 64, 36, 100),
        (16, 80, 36, 100)]
    label = isaid['drawn']['train']['P0000']
    for y0, y1, x0, x1 in patch_windows(80, 100, SIZE, 16):
        name = f'P0000_{y0}_{y1}_{x0}_{x1}'
        patch = np.asarray(Image.open(osp.join(
            out, 'ann_dir', 'train', f'{name}_instance_color_RGB.png')))
        np.testing.assert_array_equal(patch, label[y0:y1, x0:x1])
        assert osp.isfile(osp.join(out, 'img_dir', 'train', f'{name}.png'))
    # A val image smaller than a patch is padded with the ignore label.
    val = np.asarray(Image.open(osp.join(
        out, 'ann_dir', 'val', 'P0002_0_64_0_64_instance_color_RGB.png')))
    assert val.shape == (64, 64)
    assert (val[40:] == ISAID_IGNORE).all()
    np.testing.assert_array_equal(val[:40],
                                  isaid['drawn']['val']['P0002'][:, :64])
    assert sorted(os.listdir(osp.join(out, 'img_dir', 'val'))) == [
        'P0002_0_64_0_64.png', 'P0002_0_64_26_90.png']
    assert os.listdir(osp.join(out, 'img_dir', 'test')) == ['P0003.png']


def test_isaid_trains_one_iteration_and_scores(isaid, tmp_path):
    cfg = load_config(osp.join(CONFIGS, 'lemevit_t_upernet_isaid.py'))
    assert cfg.model.decode_head.num_classes == 16
    metrics = train_and_test(small_run(cfg, isaid['out'],
                                       str(tmp_path / 'work')))
    assert 0.0 <= metrics['mIoU'] <= 100.0
