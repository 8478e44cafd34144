"""Train any lemevit-mm config (classification, segmentation, oriented
detection or change detection).

The config's ``default_scope`` (mmpretrain, mmseg, mmrotate, ...) decides
which OpenMMLab package's registries build the model, data and metrics.
For every task (see :func:`lemevit_mm.apis.setup_task`): checkpoints are
written atomically and carry the random generators, so ``--resume``
continues exactly (same seed, ``randomness.deterministic=True``);
``AmpOptimWrapper`` falls back to float32 without CUDA; ``--launcher
pytorch`` without CUDA uses gloo; ``--cfg-options data_root=PATH`` moves
every dataset that used the config's ``data_root``.

Example::

    python tools/train.py configs/seg/lemevit_t_upernet_potsdam.py \
        --work-dir work_dirs/seg --cfg-options train_cfg.max_iters=100
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import lemevit_mm  # noqa: F401  (registers models, weights-only loading)
from lemevit_mm.apis import merge_cfg_options, setup_task


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model.')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or from the latest checkpoint of the work '
        'dir when CKPT is omitted')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    merge_cfg_options(cfg, args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume:
        cfg.resume = True
        cfg.load_from = args.resume
    setup_task(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
