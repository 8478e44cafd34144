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

from mmengine.runner import Runner

import lemevit_mm  # noqa: F401  (registers models, weights-only loading)
from lemevit_mm.apis import setup_task
from lemevit_mm.cli import (add_runner_arguments, load_run_config,
                            parse_runner_args)


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
    add_runner_arguments(parser, 'train_cfg.max_iters=100')
    return parse_runner_args(parser)


def main() -> None:
    args = parse_args()
    cfg = load_run_config(args)
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
