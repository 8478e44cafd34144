"""tools/train.py, tools/test.py and the dist scripts, end to end on a
tiny ImageNet; exact resume; crash-safe checkpoint writing."""
import os
import os.path as osp
import pickle
import re
import runpy
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import LocalBackend

import lemevit_mm  # noqa: F401
from lemevit_mm.apis import merge_cfg_options, setup_task
from lemevit_mm.engine import (AtomicLocalBackend, capture_rng_state,
                               restore_rng_state)
from lemevit_mm.testing.cls import make_tiny_imagenet

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/cls/lemevit_t_in1k.py'
# 4 classes x 6 training images, 2 validation images per class, 32 px.
SHRINK = [
    'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
    'val_dataloader.batch_size=4', 'val_dataloader.num_workers=0',
    'test_dataloader.batch_size=4', 'test_dataloader.num_workers=0',
    'train_dataloader.dataset.pipeline.1.scale=32',
    'val_dataloader.dataset.pipeline.1.scale=36',
    'val_dataloader.dataset.pipeline.2.crop_size=32',
    'test_dataloader.dataset.pipeline.1.scale=36',
    'test_dataloader.dataset.pipeline.2.crop_size=32',
    'default_hooks.logger.interval=1', 'log_processor.window_size=1',
    'randomness.seed=0', 'randomness.deterministic=True',
]
ENV = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
           PYTHONPATH=REPO, PYTHON=sys.executable)


@pytest.fixture(scope='module')
def tiny_imagenet(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('tiny_imagenet'))
    make_tiny_imagenet(root, num_classes=4, size=40)
    return root


def options(data_root: str, *extra: str) -> list:
    return ['--cfg-options', f'data_root={data_root}', *SHRINK, *extra]


def run(command: list, timeout: int = 600) -> str:
    result = subprocess.run(command, cwd=REPO, env=ENV, timeout=timeout,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    assert result.returncode == 0, result.stdout[-4000:]
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_train_then_test_reports_accuracy(tiny_imagenet, tmp_path):
    work_dir = str(tmp_path / 'work')
    log = run([sys.executable, 'tools/train.py', CONFIG, '--work-dir',
               work_dir, *options(tiny_imagenet, 'train_cfg.max_epochs=1')])
    assert 'Epoch(train) [1][6/6]' in log  # 24 images / batch 4
    assert 'Scaling the original LR by 0.0078125' in log  # 4 / 512
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(checkpoint)
    assert 'rng_state' in torch.load(checkpoint, weights_only=False)

    out = str(tmp_path / 'predictions.pkl')
    log = run([sys.executable, 'tools/test.py', CONFIG, checkpoint,
               '--work-dir', work_dir, '--out', out,
               *options(tiny_imagenet)])
    reported = re.findall(r'Epoch\(test\).*accuracy/top1: ([\d.]+)', log)
    assert len(reported) == 1, log[-2000:]
    with open(out, 'rb') as file:
        predictions = pickle.load(file)
    assert len(predictions) == 8
    labels = [int(p['gt_label']) for p in predictions]
    assert sorted(labels) == [0, 0, 1, 1, 2, 2, 3, 3]
    correct = sum(int(p['pred_label']) == label
                  for p, label in zip(predictions, labels))
    assert float(reported[0]) == pytest.approx(100 * correct / 8, abs=1e-3)


def test_dist_train_and_test_two_cpu_processes(tiny_imagenet, tmp_path):
    work_dir = str(tmp_path / 'dist')
    env = dict(PORT=str(free_port()))
    ENV.update(env)
    try:
        log = run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir',
                   work_dir, *options(tiny_imagenet, 'train_cfg.max_epochs=1',
                                      'train_dataloader.batch_size=2')])
        # 24 images over 2 processes with 2 each: 6 iterations.
        assert 'Epoch(train) [1][6/6]' in log
        assert 'Distributed training: True' in log
        assert 'GPU number: 2' in log  # MMEngine's name for world size
        assert "dist_cfg: {'backend': 'gloo'}" in log
        ENV['PORT'] = str(free_port())
        log = run(['bash', 'tools/dist_test.sh', CONFIG,
                   osp.join(work_dir, 'epoch_1.pth'), '2', '--work-dir',
                   work_dir, *options(tiny_imagenet)])
        assert re.search(r'Epoch\(test\).*accuracy/top1: [\d.]+', log)
    finally:
        ENV.pop('PORT', None)


def train_in_process(args: list) -> None:
    """Run tools/train.py in this process (so a crash can be injected)."""
    argv = sys.argv
    sys.argv = ['tools/train.py', *args]
    try:
        runpy.run_path(osp.join(REPO, 'tools', 'train.py'),
                       run_name='__main__')
    finally:
        sys.argv = argv


def crash_while_writing(name: str):
    """A ``LocalBackend.put`` that dies half-way through writing ``name``,
    as a killed process would."""
    original = LocalBackend.put

    def put(self, obj, filepath):
        if name in osp.basename(str(filepath)):
            with open(filepath, 'wb') as file:
                file.write(obj[:len(obj) // 2])
            raise KeyboardInterrupt(f'killed while writing {filepath}')
        return original(self, obj, filepath)

    return put


def test_resume_is_exact_and_crash_safe(tiny_imagenet, tmp_path,
                                        monkeypatch):
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    common = options(tiny_imagenet, 'train_cfg.max_epochs=2')
    try:
        uninterrupted = str(tmp_path / 'uninterrupted')
        train_in_process([CONFIG, '--work-dir', uninterrupted, *common])

        crashed = str(tmp_path / 'crashed')
        with monkeypatch.context() as patch:
            patch.setattr(LocalBackend, 'put',
                          crash_while_writing('epoch_2.pth'))
            with pytest.raises(KeyboardInterrupt):
                train_in_process([CONFIG, '--work-dir', crashed, *common])
        # Nothing half-written; the previous checkpoint is intact.
        leftovers = sorted(f for f in os.listdir(crashed)
                           if f.endswith(('.pth', '.tmp')))
        assert leftovers == ['best_accuracy_top1_epoch_1.pth', 'epoch_1.pth']
        with open(osp.join(crashed, 'last_checkpoint')) as file:
            assert file.read().strip() == osp.join(crashed, 'epoch_1.pth')
        assert torch.load(osp.join(crashed, 'epoch_1.pth'),
                          weights_only=False)['meta']['epoch'] == 1

        train_in_process([CONFIG, '--work-dir', crashed, '--resume', *common])
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    expected = torch.load(osp.join(uninterrupted, 'epoch_2.pth'),
                          weights_only=False)
    resumed = torch.load(osp.join(crashed, 'epoch_2.pth'), weights_only=False)
    assert resumed['meta']['epoch'] == 2
    for part in ('state_dict', 'ema_state_dict'):
        assert expected[part].keys() == resumed[part].keys()
        for key, value in expected[part].items():
            assert torch.equal(value, resumed[part][key]), (part, key)
    # Training changed the weights (the comparison is not trivial).
    first = torch.load(osp.join(uninterrupted, 'epoch_1.pth'),
                       weights_only=False)
    assert not torch.equal(first['state_dict']['backbone.meta_tokens'],
                           expected['state_dict']['backbone.meta_tokens'])


def test_atomic_backend_keeps_old_file_on_failure(tmp_path, monkeypatch):
    backend = AtomicLocalBackend()
    target = str(tmp_path / 'ckpt.pth')
    backend.put(b'old', target)
    backend.put_text('old text', str(tmp_path / 'last_checkpoint'))
    monkeypatch.setattr(LocalBackend, 'put', crash_while_writing('ckpt'))
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'new' * 1000, target)
    with open(target, 'rb') as file:
        assert file.read() == b'old'
    assert sorted(os.listdir(tmp_path)) == ['ckpt.pth', 'last_checkpoint']
    monkeypatch.undo()
    backend.put(b'new', target)
    with open(target, 'rb') as file:
        assert file.read() == b'new'
    # Plain MMEngine would have left a truncated file.
    monkeypatch.setattr(LocalBackend, 'put', crash_while_writing('ckpt'))
    with pytest.raises(KeyboardInterrupt):
        LocalBackend().put(b'new' * 1000, target)
    assert os.path.getsize(target) == 1500


def test_random_state_roundtrip():
    import random

    import numpy as np
    state = capture_rng_state()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    restore_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_setup_task_and_data_root(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    merge_cfg_options(cfg, {'data_root': '/data/in1k',
                            'train_dataloader.batch_size': 8})
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[name].dataset.data_root == '/data/in1k'
    assert cfg.train_dataloader.batch_size == 8
    setup_task(cfg, out=str(tmp_path / 'x.pkl'))
    if not torch.cuda.is_available():
        assert cfg.optim_wrapper.type == 'OptimWrapper'
        assert 'loss_scale' not in cfg.optim_wrapper
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.default_hooks.checkpoint.backend_args == dict(
        backend='atomic_local')
    assert [h['type'] for h in cfg.custom_hooks] == ['LeMeViTEMAHook',
                                                     'RandomStateHook']
    setup_task(cfg)  # idempotent
    assert len(cfg.custom_hooks) == 2
    assert cfg.test_evaluator[-1]['type'] == 'DumpResults'
    with pytest.raises(ValueError, match='must end with .pkl'):
        setup_task(cfg, out='predictions.json')


def test_sync_bn_becomes_bn_for_distributed_cpu_runs():
    from lemevit_mm.apis import use_plain_bn_on_cpu
    cfg = Config(dict(
        launcher='pytorch',
        model=dict(backbone=dict(norm_cfg=dict(type='SyncBN')),
                   heads=[dict(norm_cfg=dict(type='SyncBN',
                                             requires_grad=True))])))
    use_plain_bn_on_cpu(cfg)
    assert cfg.model.backbone.norm_cfg.type == 'BN'
    assert cfg.model.heads[0].norm_cfg == dict(type='BN', requires_grad=True)
    single = Config(dict(launcher='none',
                         model=dict(norm_cfg=dict(type='SyncBN'))))
    use_plain_bn_on_cpu(single)  # one process: SyncBN works on the CPU
    assert single.model.norm_cfg.type == 'SyncBN'
