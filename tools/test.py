"""Evaluate a checkpoint of any lemevit-mm config.

Example::

    python tools/test.py configs/seg/lemevit_t_upernet_potsdam.py \
        work_dirs/seg/iter_100.pth --show-dir vis
"""
import argparse

from mmengine.runner import Runner

import lemevit_mm  # noqa: F401  (registers models, weights-only loading)
from lemevit_mm.apis import setup_task
from lemevit_mm.cli import (add_runner_arguments, load_run_config,
                            parse_runner_args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a checkpoint.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs and metrics go')
    parser.add_argument('--out', help='dump the predictions to this pickle')
    parser.add_argument('--show-dir',
                        help='write visualised predictions under this dir '
                        '(relative to the work dir\'s timestamped folder)')
    add_runner_arguments(parser, 'test_dataloader.batch_size=1')
    return parse_runner_args(parser)


def main() -> None:
    args = parse_args()
    cfg = load_run_config(args)
    cfg.load_from = args.checkpoint
    setup_task(cfg, show_dir=args.show_dir, out=args.out)
    runner = Runner.from_cfg(cfg)
    runner.test()


if __name__ == '__main__':
    main()
