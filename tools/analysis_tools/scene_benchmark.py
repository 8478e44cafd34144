"""Scene-scale inference speed and memory: the tiled pipeline of
``tools/infer.py`` against the model's raw tile throughput.

For each scene size a synthetic 3-band uint8 GeoTIFF (UTM georeference)
is written once under ``--work-dir``; then, in a fresh process per size
(so that peak memory is that run's own), the model runs ``--raw-batches``
batches of random tiles before and after the scene (raw throughput: the
model alone, same tile and batch size; the mean of both), and the whole
scene goes through :class:`lemevit_mm.apis.SegmentationInferencer` into a
class-map GeoTIFF.
The table gives megapixels/s, tiles/s, their ratio to the raw tile
throughput and the peak resident memory (RSS) of each run.

Example::

    python tools/analysis_tools/scene_benchmark.py \\
        --sizes 6000 12000 --tile 512 --batch-size 4 --threads 2
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from typing import List, Optional, Sequence

from lemevit_mm.analysis.scene_benchmark import (format_table, make_scene,
                                                 worker)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(REPO, 'configs/seg/lemevit_t_upernet_potsdam.py')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--checkpoint',
                        help='weights (default: the model as initialised; '
                        'speed does not depend on them)')
    parser.add_argument('--sizes', nargs='+', type=int,
                        default=[6000, 12000], help='scene sides in pixels')
    parser.add_argument('--tile', type=int, default=512)
    parser.add_argument('--overlap', type=int, default=0)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--raw-batches', type=int, default=8)
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--work-dir', default='work_dirs/scene_benchmark')
    parser.add_argument('--worker', type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    args = parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(args)))
        return []
    os.makedirs(args.work_dir, exist_ok=True)
    rows = []
    for size in args.sizes:
        make_scene(osp.join(args.work_dir, f'scene_{size}.tif'), size)
        command = [sys.executable, osp.abspath(__file__), '--worker',
                   str(size), '--config', args.config, '--tile',
                   str(args.tile), '--overlap', str(args.overlap),
                   '--batch-size', str(args.batch_size), '--threads',
                   str(args.threads), '--raw-batches',
                   str(args.raw_batches), '--work-dir', args.work_dir]
        if args.checkpoint:
            command += ['--checkpoint', args.checkpoint]
        if args.amp:
            command.append('--amp')
        output = subprocess.run(command, check=True, capture_output=True,
                                text=True).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
        print(f'[scene-benchmark] {size}x{size} done: {rows[-1]}',
              file=sys.stderr)
    print(format_table(rows, args))
    return rows


if __name__ == '__main__':
    main()
