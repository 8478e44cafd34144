"""Evaluate a checkpoint of any lemevit-mm config.

Example::

    python tools/test.py configs/seg/lemevit_t_upernet_potsdam.py \
        work_dirs/seg/iter_100.pth --show-dir vis
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import lemevit_mm  # noqa: F401  (registers models, weights-only loading)
from lemevit_mm.apis import merge_cfg_options, setup_task


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a checkpoint.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs and metrics go')
    parser.add_argument('--out', help='dump the predictions to this pickle')
    parser.add_argument('--show-dir',
                        help='write visualised predictions under this dir '
                        '(relative to the work dir\'s timestamped folder)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. test_dataloader.batch_size=1')
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
    cfg.load_from = args.checkpoint
    setup_task(cfg, show_dir=args.show_dir, out=args.out)
    runner = Runner.from_cfg(cfg)
    runner.test()


if __name__ == '__main__':
    main()
