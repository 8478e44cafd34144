"""Scene-scale inference speed and memory: the tiled pipeline of
``tools/infer.py`` against the model's raw tile throughput.

The library of ``tools/analysis_tools/scene_benchmark.py``: the synthetic
scene (:func:`make_scene`), one run in its own process (:func:`worker`) and
the table (:func:`format_table`).
"""
import datetime
import os
import os.path as osp
import platform
import resource
import time
from typing import List

import numpy as np

from ..io.raster import GeoTiffWriter, RasterGrid

__all__ = ['make_scene', 'peak_rss_mb', 'worker', 'format_table']


def make_scene(path: str, size: int, block: int = 512) -> None:
    """A ``size x size`` RGB GeoTIFF of a synthetic Potsdam-like texture,
    written block row by block row (never whole in memory)."""
    from rasterio.transform import from_origin

    from ..testing.seg import render_tile
    if osp.isfile(path):
        return
    rng = np.random.default_rng(0)
    motifs = [render_tile(rng, 512)[0] for _ in range(4)]
    grid = RasterGrid(size, size, 'EPSG:32633',
                      from_origin(368000.0, 5810000.0, 0.05, 0.05))
    with GeoTiffWriter(path, grid, 3, 'uint8', block_size=512) as writer:
        for row in range(0, size, block):
            h = min(block, size - row)
            strip = np.concatenate(
                [motifs[(row // block + i) % 4] for i in
                 range(-(-size // 512))], axis=1)[:h, :size]
            writer.write(np.ascontiguousarray(strip.transpose(2, 0, 1)),
                         row)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args) -> dict:
    """One scene size (``args.worker``) in this process: raw tile
    throughput, then the scene (``args``: the options of
    ``tools/analysis_tools/scene_benchmark.py``)."""
    import torch
    torch.set_num_threads(args.threads)
    from ..apis import SegmentationInferencer
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


def format_table(rows: List[dict], args) -> str:
    """The markdown table of the :func:`worker` results ``rows``."""
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
