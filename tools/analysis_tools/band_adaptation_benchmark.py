"""Benchmark: what an infrared band adds, and which stem adaptation of an
RGB checkpoint learns it fastest.

A generated 4-band (R, G, B, IR) Potsdam-style task in which roofs are
painted in the colours of the surrounding low vegetation: in R, G and B a
roof is the lawn around it, and only the infrared band (high over
vegetation, low over roofs) shows the building. LeMeViT-tiny UperNet is
trained on it for the same number of iterations, from the same RGB
weights, in four ways:

- ``RGB``: bands 1-3 only, the RGB stem as pretrained;
- ``RGBIR zero``, ``RGBIR mean``, ``RGBIR repeat``: all four bands, the
  stem adapted by ``init_cfg=dict(adapt_channels=...)``.

The RGB weights ("pretrained") are those of the same UperNet trained
first for ``--pretrain-iters`` on the ordinary synthetic RGB Potsdam
sample (ordinary red and grey roofs, other tiles); no real pretrained
checkpoint is used (none is available offline). Every fine-tuning run
starts its backbone from that checkpoint (its heads from scratch, the
same seed); then the per-class F1 on the 4-band validation tiles (slide
inference, the five scored Potsdam classes) is printed as a table.

Usage::

    nice -n 15 python tools/analysis_tools/band_adaptation_benchmark.py \
        [--iters 150] [--pretrain-iters 100] [--work-dir DIR]
"""
import argparse
import os.path as osp

from lemevit_mm.analysis.band_adaptation import RUNS, run_band_adaptation

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SAMPLE_CONFIG = osp.join(REPO, 'configs', 'seg',
                         'lemevit_t_upernet_potsdam_sample.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/band_adaptation',
                        help='data, logs and checkpoints')
    parser.add_argument('--iters', type=int, default=150,
                        help='fine-tuning iterations per run (default 150)')
    parser.add_argument('--pretrain-iters', type=int, default=100,
                        help='RGB pretraining iterations (default 100)')
    parser.add_argument('--num-train', type=int, default=16,
                        help='training tiles (default 16)')
    parser.add_argument('--num-val', type=int, default=6,
                        help='validation tiles (default 6)')
    parser.add_argument('--size', type=int, default=128,
                        help='tile side in pixels (default 128)')
    parser.add_argument('--head-channels', type=int, default=None,
                        help='width of the UperNet decode head (the FCN '
                        'auxiliary head gets half); default: the '
                        "config's 512 (256)")
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--jobs', type=int, default=1,
                        help='fine-tuning runs trained at the same time, '
                        'in separate processes sharing the CPU threads '
                        '(default 1: one after the other)')
    parser.add_argument('--runs', nargs='+', default=[r[0] for r in RUNS],
                        choices=[r[0] for r in RUNS], metavar='RUN',
                        help='runs to train (default: all four)')
    args = parser.parse_args()
    for name in ('iters', 'pretrain_iters', 'num_train', 'num_val', 'jobs'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be positive')
    return args


def main() -> None:
    args = parse_args()
    args.config = SAMPLE_CONFIG
    run_band_adaptation(args)


if __name__ == '__main__':
    main()
