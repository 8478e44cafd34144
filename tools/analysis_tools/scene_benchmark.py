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
import datetime
import json
import os
import os.path as osp
import platform
import resource
import subprocess
import sys
import time
from typing import List, Optional, Sequence

import numpy as np

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


def make_scene(path: str, size: int, block: int = 512) -> None:
    """A ``size x size`` RGB GeoTIFF of a synthetic Potsdam-like texture,
    written block row by block row (never whole in memory)."""
    import rasterio
    from rasterio.transform import from_origin

    from lemevit_mm.seg.synthetic import render_tile
    if osp.isfile(path):
        return
    rng = np.random.default_rng(0)
    motifs = [render_tile(rng, 512)[0] for _ in range(4)]
    tmp = path + '.part'
    with rasterio.open(
            tmp, 'w', driver='GTiff', width=size, height=size, count=3,
            dtype='uint8', crs='EPSG:32633', tiled=True, blockxsize=512,
            blockysize=512, compress='deflate',
            transform=from_origin(368000.0, 5810000.0, 0.05, 0.05)) as f:
        for row in range(0, size, block):
            h = min(block, size - row)
            strip = np.concatenate(
                [motifs[(row // block + i) % 4] for i in
                 range(-(-size // 512))], axis=1)[:h, :size]
            f.write(strip.transpose(2, 0, 1),
                    window=rasterio.windows.Window(0, row, size, h))
    os.replace(tmp, path)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args: argparse.Namespace) -> dict:
    """One size in this process: raw tile throughput, then the scene."""
    import torch
    torch.set_num_threads(args.threads)
    import lemevit_mm  # noqa: F401
    from lemevit_mm.apis import SegmentationInferencer
    inferencer = SegmentationInferencer(
        args.config, args.checkpoint, batch_size=args.batch_size,
        amp=args.amp, quiet=True)
    tile = (args.tile, args.tile)
    batch = np.random.default_rng(0).uniform(
        0, 255, (args.batch_size, inferencer.in_channels, *tile)).astype(
            np.float32)
    def raw_rate() -> float:
        start = time.perf_counter()
        for _ in range(args.raw_batches):
            inferencer.forward_tiles(batch)
        return args.raw_batches * args.batch_size / (
            time.perf_counter() - start)

    inferencer.forward_tiles(batch)  # warm-up
    # raw throughput before and after the scene: their mean is compared
    # with the scene's, so slow drifts of the machine cancel out
    raw_before = raw_rate()
    rss_model = peak_rss_mb()
    scene = osp.join(args.work_dir, f'scene_{args.worker}.tif')
    out = osp.join(args.work_dir, f'classes_{args.worker}.tif')
    if osp.exists(out):
        os.remove(out)
    result = inferencer(scene, out, tile=tile, overlap=args.overlap)
    seconds = result['seconds']
    raw = (raw_before + raw_rate()) / 2
    return dict(size=args.worker, tiles=result['tiles'], seconds=seconds,
                tiles_per_s=result['tiles'] / seconds,
                mpix_per_s=args.worker ** 2 / 1e6 / seconds,
                raw_tiles_per_s=raw, rss_after_model_mb=rss_model,
                peak_rss_mb=peak_rss_mb())


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


def format_table(rows: List[dict], args: argparse.Namespace) -> str:
    import torch
    lines = [
        f'{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, '
        f'{platform.processor() or platform.machine()}, {os.cpu_count()} '
        f'cores, {args.threads} threads, torch {torch.__version__}; '
        f'{osp.basename(args.config)}, tile {args.tile}, overlap '
        f'{args.overlap}, batch {args.batch_size}'
        f'{", bf16 autocast" if args.amp else ""}', '',
        '| scene | tiles | Mpx/s | tiles/s | raw tiles/s | scene / raw |'
        ' peak RSS (MB) |',
        '|---|---:|---:|---:|---:|---:|---:|'
    ]
    for row in rows:
        lines.append(
            f'| {row["size"]}x{row["size"]} | {row["tiles"]} | '
            f'{row["mpix_per_s"]:.3f} | {row["tiles_per_s"]:.3f} | '
            f'{row["raw_tiles_per_s"]:.3f} | '
            f'{row["tiles_per_s"] / row["raw_tiles_per_s"]:.1%} | '
            f'{row["peak_rss_mb"]:.0f} |')
    if len(rows) > 1:
        lines.append('')
        lines.append(
            f'Peak RSS {rows[-1]["size"]} vs {rows[0]["size"]}: '
            f'{rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"] - 1:+.1%}')
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
