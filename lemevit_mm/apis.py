"""Task-agnostic glue for ``tools/train.py`` and ``tools/test.py``."""
from typing import Optional

import torch
from mmengine.config import Config, ConfigDict


def _visualization_hook(cfg: Config) -> ConfigDict:
    hooks = cfg.setdefault('default_hooks', ConfigDict())
    if 'visualization' not in hooks:
        raise ValueError('--show-dir needs a `visualization` entry in the '
                         "config's default_hooks.")
    return hooks.visualization


def enable_visualization(cfg: Config, show_dir: str) -> None:
    """Turn on the drawing of test predictions into ``show_dir``, in the
    way the config's OpenMMLab package expects."""
    hook = _visualization_hook(cfg)
    scope = cfg.get('default_scope')
    if scope == 'mmpretrain':
        hook.update(enable=True, out_dir=show_dir)
    elif scope in ('mmdet', 'mmrotate'):
        hook.update(draw=True, interval=1, test_out_dir=show_dir)
    else:  # mmseg and the change-detection task built on it
        hook.update(draw=True, interval=1)
        cfg.visualizer['save_dir'] = show_dir


def add_dump_results(cfg: Config, out: str) -> None:
    """Also pickle the raw predictions of the test set to ``out``."""
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must end with .pkl or .pickle, got {out}.')
    dump = dict(type='DumpResults', out_file_path=out)
    evaluator = cfg.test_evaluator
    if isinstance(evaluator, (list, tuple)):
        cfg.test_evaluator = [*evaluator, dump]
    elif 'metrics' in evaluator:
        evaluator.metrics = [*evaluator.metrics, dump]
    else:
        cfg.test_evaluator = [evaluator, dump]


def setup_task(cfg: Config, show_dir: Optional[str] = None,
               out: Optional[str] = None) -> None:
    """Adjust a config for this machine and the command-line options.

    Args:
        cfg (Config): The config to change in place.
        show_dir (str, optional): Where to draw test predictions.
        out (str, optional): A pickle file for the raw test predictions.
    """
    if not torch.cuda.is_available():
        # NCCL needs GPUs; distributed runs on CPUs use gloo.
        env_cfg = cfg.setdefault('env_cfg', ConfigDict())
        env_cfg.setdefault('dist_cfg', ConfigDict())['backend'] = 'gloo'
    if show_dir:
        enable_visualization(cfg, show_dir)
    if out:
        add_dump_results(cfg, out)
