"""Change-detection benchmarks: WHU-CD (BIT's tiles and lists),
S2Looking, LEVIR-CD+. Converters on generated downloads, one training
iteration, and F1 / IoU / precision / recall of "changed" by hand."""
import copy
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import lemevit_mm  # noqa: F401
from lemevit_mm.testing.samples_cd import make_cd_sample

from helpers import REPO, fast_runner_configs, load_config, load_tool

CONFIGS = osp.join(REPO, 'configs', 'cd')
SIZE = 64
TOOLS = {'whu-cd': 'whu_cd.py', 's2looking': 's2looking.py',
         'levir-cd-plus': 'levir_cd_plus.py'}
COUNTS = {'whu-cd': dict(train=2, val=1, test=1),
          's2looking': dict(train=2, val=1, test=1),
          'levir-cd-plus': dict(train=2, test=1)}


@pytest.fixture(scope='module', autouse=True)
def _fast_configs():
    with fast_runner_configs():
        yield


def run_main(dataset: str, *args: str):
    module = load_tool(f'tools/dataset_converters/{TOOLS[dataset]}')
    argv = sys.argv
    sys.argv = ['converter', *args]
    try:
        module.main()
    except SystemExit as stop:
        return (stop.code if isinstance(stop.code, int) else 1), str(stop)
    finally:
        sys.argv = argv
    return 0, ''


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    """Every dataset's download, converted."""
    root = tmp_path_factory.mktemp('cd')
    done = {}
    for dataset, counts in COUNTS.items():
        download = str(root / dataset / 'download')
        written = make_cd_sample(download, dataset, counts, size=SIZE)
        out = str(root / dataset / 'out')
        code, message = run_main(dataset, download, out)
        assert code == 0, message
        done[dataset] = dict(download=download, out=out, written=written)
    return done


def test_whu_lists_and_layout(prepared):
    whu = prepared['whu-cd']
    for split, stems in whu['written'].items():
        listed = open(osp.join(whu['out'], 'list',
                               f'{split}.txt')).read().split()
        assert listed == stems  # names without suffix, for mmseg
        for stem in stems:
            for folder in ('A', 'B', 'label'):
                assert osp.isfile(osp.join(whu['out'], folder,
                                           f'{stem}.png'))


def test_bad_pairs_are_listed_and_left_out(prepared, tmp_path, capsys):
    download = tmp_path / 'download'
    shutil.copytree(prepared['s2looking']['download'], download)
    label = download / 'train' / 'label' / 'train_0.png'
    Image.fromarray(np.full((SIZE, SIZE), 7, np.uint8)).save(label)
    os.remove(download / 'train' / 'Image2' / 'train_1.png')
    code, message = run_main('s2looking', str(download),
                             str(tmp_path / 'out'))
    printed = capsys.readouterr().out
    # train has no valid pair left: a clear error; the reasons printed
    assert code == 1 and "S2Looking train: no valid image pair" in message
    os.remove(label)
    shutil.copy(download / 'val' / 'label' / 'val_2.png', label)
    code, message = run_main('s2looking', str(download),
                             str(tmp_path / 'out2'))
    printed = capsys.readouterr().out
    assert code == 0
    assert 'train_1.png: no date-B image' in printed
    assert not osp.exists(tmp_path / 'out2' / 'train' / 'Image1' /
                          'train_1.png')
    shutil.rmtree(download / 'val' / 'label')
    code, message = run_main('s2looking', str(download),
                             str(tmp_path / 'out3'))
    assert code == 1 and 'S2Looking val change labels not found' in message


@pytest.mark.parametrize('dataset', sorted(COUNTS))
def test_configs(dataset):
    expected = dict(t='tiny', s='small', b='base')
    cdd = {v: load_config(osp.join(CONFIGS, f'lemevit_{v}_bit_cdd.py'))
           for v in expected}
    for variant in expected:
        cfg = load_config(osp.join(CONFIGS,
                                       f'lemevit_{variant}_bit_{dataset}.py'))
        reference = cdd[variant]
        assert cfg.model.backbone == reference.model.backbone
        assert cfg.model.decode_head == reference.model.decode_head
        assert cfg.optim_wrapper == reference.optim_wrapper
        assert cfg.test_evaluator.type == 'ChangeDetectionMetric'
        if dataset != 'whu-cd':  # 1024 px tiles: slide 256 windows
            assert cfg.model.test_cfg.mode == 'slide'


@pytest.mark.parametrize('dataset', sorted(COUNTS))
def test_train_one_iteration_and_score(prepared, dataset, tmp_path):
    from mmengine.runner import Runner
    cfg = load_config(osp.join(CONFIGS, f'lemevit_t_bit_{dataset}.py'))
    cfg = copy.deepcopy(cfg)
    cfg.model.data_preprocessor.size = (SIZE, SIZE)
    if cfg.model.test_cfg.get('mode') == 'slide':
        cfg.model.test_cfg = dict(mode='slide', crop_size=(SIZE, SIZE),
                                  stride=(SIZE, SIZE))
    for name in ('train_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.update(batch_size=2 if name.startswith('train') else 1,
                      num_workers=0, persistent_workers=False)
        loader.dataset.data_root = prepared[dataset]['out']
        for step in loader.dataset.pipeline:
            if step['type'] == 'RandomResize':
                step['scale'] = (SIZE, SIZE)
            if step['type'] == 'RandomCrop':
                step['crop_size'] = (SIZE, SIZE)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0,
                                by_epoch=False)]
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.pop('visualization', None)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = dataset
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1
    metrics = runner.test()
    assert set(metrics) >= {'precision', 'recall', 'F1', 'IoU'}


def test_changed_class_scores_by_hand():
    from mmseg.registry import METRICS
    gt = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0]])

    def scores(pred):
        metric = METRICS.build(dict(type='ChangeDetectionMetric'))
        metric.dataset_meta = dict(classes=('unchanged', 'changed'))
        metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]),
                                 gt_sem_seg=dict(data=gt[None]))])
        return metric.evaluate(1)

    perfect = scores(gt)
    assert perfect['F1'] == perfect['IoU'] == perfect['precision'] == 100.0
    # 3 of the 4 changed pixels found, 1 false alarm: precision 3/4,
    # recall 3/4, F1 75, IoU 3/5
    pred = gt.clone()
    pred[0, 0], pred[0, 3] = 0, 1
    partial = scores(pred)
    assert partial['precision'] == 75.0 and partial['recall'] == 75.0
    assert partial['F1'] == 75.0 and partial['IoU'] == 60.0
