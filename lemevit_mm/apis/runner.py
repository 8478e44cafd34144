"""Task-agnostic glue for ``tools/train.py`` and ``tools/test.py``."""
import logging
from typing import Any, Iterator, Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from ..engine import ATOMIC_BACKEND

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


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


def iter_config_dicts(node: Any) -> Iterator[dict]:
    """Every dict in a config tree (``node`` itself included), through
    dicts, lists and tuples."""
    if isinstance(node, dict):
        yield node
        node = list(node.values())
    if isinstance(node, (list, tuple)):
        for value in node:
            yield from iter_config_dicts(value)


def _replace_data_root(node: Any, old: str, new: str) -> int:
    """Point every ``data_root`` equal to ``old`` under ``node`` (datasets,
    wrapped datasets, lists of datasets) to ``new``; count them."""
    hits = [d for d in iter_config_dicts(node)
            if 'data_root' in d and d['data_root'] == old]
    for entry in hits:
        entry['data_root'] = new
    return len(hits)


def merge_cfg_options(cfg: Config, options: Optional[dict]) -> None:
    """``cfg.merge_from_dict(options)``, where ``data_root=PATH`` also
    moves every dataset that used the config's ``data_root``.

    A config's top-level ``data_root`` has been copied into its datasets
    when the file was read, so overriding it alone would change nothing;
    this makes ``--cfg-options data_root=/data/x`` do what it says.
    """
    if not options:
        return
    old_root = cfg.get('data_root')
    cfg.merge_from_dict(options)
    new_root = cfg.get('data_root')
    if 'data_root' in options and old_root is not None and \
            new_root != old_root:
        moved = sum(_replace_data_root(cfg.get(name), old_root, new_root)
                    for name in DATALOADERS)
        moved += _replace_data_root(
            [cfg.get('val_evaluator'), cfg.get('test_evaluator')],
            old_root, new_root)
        print_log(f'data_root: {old_root} -> {new_root} ({moved} entries)',
                  logger='current')


def drop_amp(wrapper: dict) -> bool:
    """Turn an ``AmpOptimWrapper`` config into a float32 ``OptimWrapper``
    in place; return whether it was one."""
    if wrapper.get('type') != 'AmpOptimWrapper':
        return False
    wrapper['type'] = 'OptimWrapper'
    for key in ('loss_scale', 'dtype', 'use_fsdp'):
        wrapper.pop(key, None)
    return True


def use_amp_only_with_gpu(cfg: Config) -> None:
    """Train in full precision where MMEngine's ``AmpOptimWrapper`` cannot
    run (no CUDA device): recipes ask for mixed precision on GPUs."""
    wrapper = cfg.get('optim_wrapper')
    if torch.cuda.is_available() or not isinstance(wrapper, dict) or \
            not drop_amp(wrapper):
        return
    print_log('No CUDA device: mixed precision (AmpOptimWrapper) is off, '
              'training in float32.', logger='current',
              level=logging.WARNING)


def make_resume_exact(cfg: Config) -> None:
    """Write checkpoints atomically and keep the random generators in
    them (see :mod:`lemevit_mm.engine`)."""
    hooks = cfg.get('default_hooks') or {}
    checkpoint = hooks.get('checkpoint')
    if isinstance(checkpoint, dict) and \
            checkpoint.get('backend_args') is None and \
            checkpoint.get('file_client_args') is None and \
            '://' not in str(checkpoint.get('out_dir') or ''):
        checkpoint['backend_args'] = dict(backend=ATOMIC_BACKEND)
    custom_hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') == 'RandomStateHook' for h in custom_hooks):
        custom_hooks.append(dict(type='RandomStateHook'))
    cfg.custom_hooks = custom_hooks


def init_distributed_on_cpu(cfg: Config) -> None:
    """Start the gloo process group of a ``--launcher pytorch`` run on a
    machine without CUDA (MMEngine's own start-up selects a CUDA device,
    which fails there). The runner then finds the group initialised."""
    import torch.distributed as dist
    if cfg.get('launcher', 'none') != 'pytorch' or \
            torch.cuda.is_available() or not dist.is_available() or \
            dist.is_initialized():
        return
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    dist_cfg.pop('backend', None)
    if 'timeout' in dist_cfg:
        from datetime import timedelta
        dist_cfg['timeout'] = timedelta(seconds=dist_cfg['timeout'])
    dist.init_process_group(backend='gloo', **dist_cfg)
    if cfg.get('model_wrapper_cfg') is None:
        # MMEngine's default wrapper pins the model to a CUDA device id.
        cfg.model_wrapper_cfg = dict(
            type='CPUDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))


def _sync_bn_to_bn(node: Any) -> int:
    """Turn every ``SyncBN`` norm config below ``node`` into ``BN``."""
    hits = [d for d in iter_config_dicts(node)
            if d.get('type') == 'SyncBN']
    for norm in hits:
        norm['type'] = 'BN'
    return len(hits)


def use_plain_bn_on_cpu(cfg: Config) -> None:
    """torch's SyncBatchNorm needs CUDA in a multi-process run: a
    distributed run on CPUs uses per-process BatchNorm instead."""
    if cfg.get('launcher', 'none') == 'none' or 'model' not in cfg:
        return
    if _sync_bn_to_bn(cfg.model):
        print_log('No CUDA: SyncBN layers run as per-process BN.',
                  logger='current', level=logging.WARNING)


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
        init_distributed_on_cpu(cfg)
        use_plain_bn_on_cpu(cfg)
    use_amp_only_with_gpu(cfg)
    make_resume_exact(cfg)
    if show_dir:
        enable_visualization(cfg, show_dir)
    if out:
        add_dump_results(cfg, out)
