"""What ``tools/train.py`` and ``tools/test.py`` share: the runner options
of their command lines and the config they make of them.
"""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

__all__ = ['add_runner_arguments', 'parse_runner_args', 'load_run_config']


def add_runner_arguments(parser: argparse.ArgumentParser,
                         cfg_options_example: str) -> None:
    """Add ``--cfg-options``, ``--launcher`` and ``--local_rank``
    (``--local-rank``) to ``parser``.

    Args:
        parser (ArgumentParser): The tool's parser.
        cfg_options_example (str): A ``key=value`` for the help text.
    """
    from mmengine.config import DictAction
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help=f'override config entries, e.g. {cfg_options_example}')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None
                      ) -> argparse.Namespace:
    """Parse the command line; ``LOCAL_RANK`` defaults to
    ``--local_rank`` (what ``torch.distributed.launch`` passes)."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_run_config(args: argparse.Namespace):
    """The config ``args.config`` with the launcher, the
    ``--cfg-options`` (``data_root=PATH`` moving every dataset, see
    :func:`lemevit_mm.apis.merge_cfg_options`) and the work dir: ``--work-
    dir``, else the config's, else ``work_dirs/<config name>``.

    Returns:
        mmengine.Config: The config to run.
    """
    from mmengine.config import Config

    from .apis import merge_cfg_options
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    merge_cfg_options(cfg, args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg
