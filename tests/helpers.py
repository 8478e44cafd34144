"""Helpers shared by the test files."""
import contextlib
import copy
import functools
import importlib.util
import os.path as osp
import subprocess
import sys
from typing import Iterator

import pytest
import torch
from mmengine.config import Config

from lemevit_mm.models import LeMeViT

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Seeded weights and the authors' outputs on them (see conftest.py).
SEEDED_DATA = osp.join(REPO, 'tests', 'data', 'seeded')
# Our float32 error may be this many times the authors' own.
FP32_ERROR_FACTOR = 5
# Full LeMeViT backbones, every stage.
BACKBONE_PARAMS = dict(tiny=8_313_536, small=16_013_920, base=52_583_104)


def dense_errors(feats, reference_io: dict) -> list:
    """Max abs error of each map against the authors' (``reference_io``
    of conftest), after checking the shapes."""
    refs = reference_io['dense_feats']
    assert len(feats) == len(refs)
    errors = []
    for feat, ref in zip(feats, refs):
        assert feat.shape == ref.shape
        errors.append((feat.detach() - ref).abs().max().item())
    return errors


def assert_dense_match(feats, reference_io: dict) -> None:
    """Every map equals the authors' within its bound."""
    errors = dense_errors(feats, reference_io)
    bounds = reference_io['dense_tol'][:len(errors)]
    assert all(e < b for e, b in zip(errors, bounds)), \
        f'{reference_io["source"]}: errors {errors}, bounds {bounds}'


def logits_error(logits, reference_io: dict) -> float:
    """Max abs error of classifier logits against the authors'."""
    assert logits.shape == reference_io['cls_logits'].shape
    return (logits.detach() - reference_io['cls_logits']).abs().max().item()


def run_tool(*args: str, timeout: int = 600) -> str:
    """Run a project script with this interpreter from the repository
    root; assert it succeeds and return its output."""
    proc = subprocess.run([sys.executable, *args], cwd=REPO, timeout=timeout,
                          capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{" ".join(args)} failed:\n' \
        f'{output[-8000:]}'
    return output


def load_tool(relative_path: str):
    """Import a script of tools/ as a module."""
    path = osp.join(REPO, relative_path)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pretrained_tiny(checkpoint: str, **kwargs) -> LeMeViT:
    """LeMeViT-tiny with the authors' weights, in eval mode."""
    model = LeMeViT('tiny', init_cfg=dict(type='Pretrained',
                                          checkpoint=checkpoint), **kwargs)
    model.init_weights()
    return model.eval()


def build_model(cfg: Config) -> torch.nn.Module:
    """Build ``cfg.model`` the way MMEngine's runner does."""
    from lemevit_mm.apis import build_model_from_config
    return build_model_from_config(cfg)


@contextlib.contextmanager
def model_index_parsed_once() -> Iterator[None]:
    """Parse each package's model index once: MMEngine re-reads every
    ``mmseg::`` base's metafiles (~200 YAML files) on each parse."""
    import mmengine.config.utils as config_utils
    cached = functools.lru_cache(maxsize=None)(
        config_utils._get_cfg_metainfo)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config_utils, '_get_cfg_metainfo', cached)
        yield


@functools.lru_cache(maxsize=None)
def _parsed_config(path: str) -> Config:
    return Config.fromfile(path)


def load_config(path: str) -> Config:
    """A fresh copy of the parsed config file ``path``."""
    return copy.deepcopy(_parsed_config(path))


@contextlib.contextmanager
def fast_runner_configs() -> Iterator[None]:
    """Each package's model index read once, the runner's config dumps
    without yapf formatting, one torch thread (the tiny models run 10x
    faster so on a CPU shared with other jobs, where the threads of
    OpenMP wait on each other)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with model_index_parsed_once(), \
                pytest.MonkeyPatch.context() as patch:
            patch.setattr(Config, 'pretty_text',
                          property(lambda cfg: repr(cfg.to_dict())))
            yield
    finally:
        torch.set_num_threads(threads)
