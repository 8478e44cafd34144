"""Checkpoints are read weights-only: MMEngine checkpoints (with their
message hub and NumPy metadata) load and resume, pickled code does not
run."""
import os
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner

import lemevit_mm  # noqa: F401  (installs the weights-only loader)
from lemevit_mm.utils.checkpoint import (CheckpointError,
                                         load_from_local_weights_only,
                                         strip_module_prefix)


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return {'loss': (out.squeeze(1) - labels).pow(2).mean()}
        return out


def _runner(work_dir, max_iters, **kwargs):
    data = [dict(inputs=torch.randn(2), labels=torch.randn(())) for _ in
            range(8)]
    return Runner(
        model=ToyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=data, batch_size=2,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=True),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=2, by_epoch=False)),
        randomness=dict(seed=0), **kwargs)


def test_mmengine_checkpoint_loads_weights_only(tmp_path):
    runner = _runner(tmp_path, max_iters=2)
    runner.train()
    path = str(tmp_path / 'iter_2.pth')
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert set(ckpt) >= {'meta', 'state_dict', 'optimizer', 'message_hub'}
    # the same file really is refused by a weights-only load without the
    # allow-list, so the allow-list is what makes it load
    with pytest.raises(Exception):
        torch.load(path, weights_only=True)


def test_resume_through_load_from_local_weights_onlyer(tmp_path):
    _runner(tmp_path, max_iters=2).train()
    resumed = _runner(tmp_path, max_iters=4, resume=True)
    resumed.train()
    assert resumed.iter == 4


class _Exploit:

    def __reduce__(self):
        return (os.system, ('touch /tmp/lemevit_pwned',))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({'state_dict': {}, 'payload': _Exploit()}, f)
    if os.path.exists('/tmp/lemevit_pwned'):
        os.remove('/tmp/lemevit_pwned')
    with pytest.raises(RuntimeError, match='Refusing to load'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not os.path.exists('/tmp/lemevit_pwned')


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_from_local_weights_only(str(tmp_path / 'nope.pth'))


def _truncated(path, fraction=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])
    return path


@pytest.mark.parametrize('damage', ['truncated', 'cut_to_bytes', 'empty',
                                    'legacy_truncated', 'text', 'zeroed'])
def test_unreadable_file_is_named(tmp_path, damage):
    """A truncated or damaged file raises CheckpointError naming it and
    the problem, through MMEngine's loader too (init_cfg, load_from)."""
    path = tmp_path / 'model.pth'
    weights = {'state_dict': {'w': torch.arange(4096.)}}
    torch.save(weights, path,
               _use_new_zipfile_serialization=damage != 'legacy_truncated')
    data = path.read_bytes()
    if damage in ('truncated', 'legacy_truncated'):
        _truncated(path)
    elif damage == 'cut_to_bytes':
        path.write_bytes(data[:10])
    elif damage == 'empty':
        path.write_bytes(b'')
    elif damage == 'text':
        path.write_text('<html>404 Not Found</html>\n')
    else:  # the zip archive's directory overwritten
        path.write_bytes(data[:-64] + bytes(64))
    for load in (load_from_local_weights_only,
                 lambda p: CheckpointLoader.load_checkpoint(
                     p, map_location='cpu')):
        with pytest.raises(CheckpointError) as info:
            load(str(path))
        message = str(info.value)
        assert message.startswith(f'{path}: not a readable PyTorch '
                                  'checkpoint (truncated or corrupt?): ')
        assert info.value.path == str(path) and info.value.reason
        assert isinstance(info.value, RuntimeError)


def test_strip_module_prefix():
    state = {'module.backbone.stem.0.weight': 1, 'head.fc.bias': 2,
             'backbone.module.x': 3}
    assert strip_module_prefix(state) == {
        'backbone.stem.0.weight': 1, 'head.fc.bias': 2,
        'backbone.module.x': 3}
