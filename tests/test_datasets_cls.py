"""Scene classification benchmarks: UC Merced, AID, NWPU-RESISC45. The
converters on generated downloads (seeded, reproducible splits at the
standard shares), the configs, one training iteration and top-1 accuracy
checked by hand."""
import os
import os.path as osp
import runpy
import shutil
import sys

import pytest
import torch

import lemevit_mm  # noqa: F401
from lemevit_mm.cls.scene_datasets import BENCHMARKS, draw_split
from lemevit_mm.testing.samples_cls import make_scene_sample

from helpers import REPO, fast_runner_configs, load_config

CONFIGS = osp.join(REPO, 'configs', 'cls')
TOOLS = dict(ucmerced='ucmerced.py', aid='aid.py',
             **{'nwpu-resisc45': 'nwpu_resisc45.py'})
CONFIG_SPLITS = {'ucmerced': (80, ), 'aid': (50, 20),
                 'nwpu-resisc45': (20, 10)}


@pytest.fixture(scope='module', autouse=True)
def _fast_configs():
    with fast_runner_configs():
        yield


def convert(dataset: str, *args: str):
    """Run the converter's command line here; ``(code, message)``."""
    tool = osp.join(REPO, 'tools', 'dataset_converters', TOOLS[dataset])
    argv = sys.argv
    sys.argv = [tool, *args]
    try:
        runpy.run_path(tool, run_name='__main__')
    except SystemExit as stop:
        return (stop.code if isinstance(stop.code, int) else 1), str(stop)
    finally:
        sys.argv = argv
    return 0, ''


def read_list(path: str):
    with open(path) as file:
        return [line.split() for line in file]


@pytest.fixture(scope='module')
def ucmerced(tmp_path_factory):
    root = tmp_path_factory.mktemp('ucm')
    make_scene_sample(str(root / 'download'), 'ucmerced',
                      images_per_class=5, size=32)
    out = str(root / 'ucmerced')
    code, message = convert('ucmerced', str(root / 'download'), out)
    assert code == 0, message
    return dict(root=root, out=out)


def test_ucmerced_zip_to_seeded_80_percent_split(ucmerced, tmp_path):
    out = ucmerced['out']
    classes = open(osp.join(out, 'meta', 'classes.txt')).read().split()
    assert tuple(classes) == BENCHMARKS['ucmerced'].classes
    train = read_list(osp.join(out, 'meta', 'train_80.txt'))
    test = read_list(osp.join(out, 'meta', 'test_80.txt'))
    assert len(train) == 21 * 4 and len(test) == 21
    assert not {p for p, _ in train} & {p for p, _ in test}
    for path, label in train + test:
        name = path.split('/')[0]
        assert classes[int(label)] == name
        assert osp.isfile(osp.join(out, 'images', path))
    # The same seed draws the same files, in another folder too; another
    # seed draws others and names its files.
    again = str(tmp_path / 'again')
    assert convert('ucmerced', str(ucmerced['root'] / 'download'),
                   again)[0] == 0
    assert read_list(osp.join(again, 'meta', 'train_80.txt')) == train
    assert convert('ucmerced', str(ucmerced['root'] / 'download'), again,
                   '--seed', '1')[0] == 0
    other = read_list(osp.join(again, 'meta', 'train_80_seed1.txt'))
    assert len(other) == len(train) and other != train


def test_split_of_a_class_does_not_depend_on_the_others():
    images = {'a': [f'a/{i}.jpg' for i in range(10)],
              'b': [f'b/{i}.jpg' for i in range(10)]}
    both = draw_split(images, ['a', 'b'], 0.2, seed=0)
    alone = draw_split({'a': images['a']}, ['a'], 0.2, seed=0)
    assert both.train['a'] == alone.train['a'] and len(both.train['a']) == 2
    assert sorted(both.train['b'] + both.test['b']) == sorted(images['b'])


def test_aid_folder_names_matched_and_missing_class_named(tmp_path):
    download = tmp_path / 'download'
    make_scene_sample(str(download), 'aid', images_per_class=10, size=16)
    # another spelling of a class folder is matched
    os.rename(download / 'AID' / 'BaseballField',
              download / 'AID' / 'baseball_field')
    code, message = convert('aid', str(download), str(tmp_path / 'aid'))
    assert code == 0, message
    for pct, per_class in ((50, 5), (20, 2)):
        train = read_list(str(tmp_path / 'aid' / 'meta' / f'train_{pct}.txt'))
        assert len(train) == 30 * per_class
    shutil.rmtree(download / 'AID' / 'Viaduct')
    code, message = convert('aid', str(download), str(tmp_path / 'aid2'))
    assert code == 1 and 'Viaduct' in message and '1 of the 30' in message


def test_nwpu_standard_shares(tmp_path):
    download = tmp_path / 'download'
    make_scene_sample(str(download), 'nwpu-resisc45', images_per_class=10,
                      size=16)
    code, message = convert('nwpu-resisc45', str(download),
                            str(tmp_path / 'nwpu'))
    assert code == 0, message
    meta = tmp_path / 'nwpu' / 'meta'
    assert len(read_list(str(meta / 'train_20.txt'))) == 45 * 2
    assert len(read_list(str(meta / 'train_10.txt'))) == 45 * 1
    assert len(read_list(str(meta / 'test_10.txt'))) == 45 * 9


@pytest.mark.parametrize('dataset', sorted(CONFIG_SPLITS))
def test_configs_fine_tune_from_imagenet(dataset):
    num_classes = len(BENCHMARKS[dataset].classes)
    for variant, arch in (('t', 'tiny'), ('s', 'small'), ('b', 'base')):
        # every variant at the main share, the tiny one at the other
        for pct in CONFIG_SPLITS[dataset][:1 if variant != 't' else None]:
            cfg = load_config(osp.join(
                CONFIGS, f'lemevit_{variant}_{dataset}-tr{pct}.py'))
            assert cfg.model.backbone.arch == arch
            assert cfg.model.head.num_classes == num_classes
            assert 'in1k' in cfg.load_from
            assert cfg.train_cfg.max_epochs == 100
            for loader, part in (('train_dataloader', 'train'),
                                 ('test_dataloader', 'test')):
                dataset_cfg = cfg[loader].dataset
                assert dataset_cfg.ann_file == f'meta/{part}_{pct}.txt'
                assert len(dataset_cfg.metainfo.classes) == num_classes
                assert dataset_cfg.data_prefix == 'images'


def test_ucmerced_trains_one_iteration_and_scores(ucmerced, tmp_path):
    from mmengine.runner import Runner
    cfg = load_config(osp.join(CONFIGS, 'lemevit_t_ucmerced-tr80.py'))
    cfg.load_from = None
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(64, 64)),
                dict(type='PackInputs')]
    for name in ('train_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.update(batch_size=4, num_workers=0, persistent_workers=False)
        loader.sampler = dict(type='DefaultSampler', shuffle=False)
        loader.dataset.update(data_root=ucmerced['out'], pipeline=pipeline)
    cfg.train_dataloader.dataset.indices = 4
    # mixed precision needs a GPU; float32 here (tools/train.py does too)
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.optim_wrapper.pop('loss_scale')
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0,
                                by_epoch=False)]
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = 'ucm'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1
    metrics = runner.test()
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0


def test_top1_accuracy_by_hand():
    from mmpretrain.evaluation import Accuracy
    from mmpretrain.structures import DataSample
    labels = [0, 1, 2, 3]

    def score(predicted):
        samples = []
        for label, guess in zip(labels, predicted):
            sample = DataSample().set_gt_label(label)
            sample.set_pred_score(torch.nn.functional.one_hot(
                torch.tensor(guess), 4).float())
            samples.append(sample.to_dict())
        metric = Accuracy(topk=(1, ))
        metric.process({}, samples)
        return metric.evaluate(len(samples))['accuracy/top1']

    assert score(labels) == 100.0
    assert score([0, 1, 2, 0]) == 75.0
