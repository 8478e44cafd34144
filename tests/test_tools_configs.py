"""Every config under configs/ parses and builds its model (the folder is
walked, so a new config is covered without editing this file)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from helpers import REPO, build_model

CONFIGS = sorted(
    osp.relpath(path, REPO)
    for path in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                          recursive=True)
    if '_base_' not in path.split(osp.sep))
# Published parameter counts: exact (1000 classes) or in millions with two
# decimals (MillionAID, 51 classes).
PUBLISHED_PARAMS = {
    'configs/cls/lemevit_t_in1k.py': 8_635_816,
    'configs/cls/lemevit_s_in1k.py': 16_400_456,
    'configs/cls/lemevit_b_in1k.py': 53_098_152,
    'configs/cls/lemevit_t_millionaid.py': 8.33,
    'configs/cls/lemevit_s_millionaid.py': 16.04,
    'configs/cls/lemevit_b_millionaid.py': 52.61,
}


def test_configs_found():
    assert set(PUBLISHED_PARAMS) <= set(CONFIGS)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_parses_and_builds(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert 'lemevit_mm' in cfg.custom_imports['imports'], config
    assert cfg.custom_imports.get('allow_failed_imports') is False
    assert cfg.get('default_scope'), f'{config} has no default_scope'
    if config.startswith('configs/cls/'):
        root = cfg.data_root
        for name in ('train_dataloader', 'val_dataloader',
                     'test_dataloader'):
            assert cfg[name].dataset.data_root == root, (config, name)
    model = build_model(cfg)
    assert isinstance(model, torch.nn.Module)
    count = sum(p.numel() for p in model.parameters())
    assert count > 1e6
    published = PUBLISHED_PARAMS.get(config)
    if isinstance(published, int):
        assert count == published
    elif published is not None:
        assert round(count / 1e6, 2) == published
