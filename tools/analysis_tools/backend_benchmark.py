"""Throughput of the deployment backends on the same tiles: PyTorch eager
(this project's CPU fast path), ONNX Runtime, OpenVINO and their INT8
models, for the LeMeViT-tiny classifier (batch 32 at 224) and the
LeMeViT-tiny UperNet (one 512 tile), and the scene pipeline on each.

The models have seeded random weights unless checkpoints are given (speed
does not depend on the weights; the INT8 agreement does, so it is only
indicative then). Tiles are synthetic aerial images
(:mod:`lemevit_mm.testing.seg`), also the INT8 calibration data.

Example::

    python tools/analysis_tools/backend_benchmark.py --work-dir work/bench
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config

from lemevit_mm.apis import build_inferencer, build_model_from_config
from lemevit_mm.apis.loading import TorchModel
from lemevit_mm.deploy import export as deploy_export
from lemevit_mm.deploy.benchmark import (environment, format_table,
                                         time_interleaved)
from lemevit_mm.deploy.parity import map_agreement
from lemevit_mm.deploy.quantize import quantize_model
from lemevit_mm.deploy.runtimes import BACKENDS, RuntimeMissing
from lemevit_mm.testing.rasters import write_tiff
from lemevit_mm.testing.seg import render_tile

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODELS = dict(
    cls=osp.join(REPO, 'configs/cls/lemevit_t_in1k.py'),
    seg=osp.join(REPO, 'configs/seg/lemevit_t_upernet_potsdam.py'))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='PyTorch vs ONNX Runtime vs OpenVINO (fp32, INT8).',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('Example::')[1])
    parser.add_argument('--work-dir', default='work_dirs/backend_benchmark',
                        help='exported models and data go here')
    parser.add_argument('--models', nargs='+', default=['cls', 'seg'],
                        choices=sorted(MODELS))
    parser.add_argument('--cls-checkpoint', help='classifier weights')
    parser.add_argument('--seg-checkpoint', help='UperNet weights')
    parser.add_argument('--cls-batch', type=int, default=32)
    parser.add_argument('--seg-tile', type=int, default=512)
    parser.add_argument('--rounds', type=int, default=3,
                        help='timed rounds (median reported)')
    parser.add_argument('--calibration-tiles', type=int, default=16)
    parser.add_argument('--no-int8', action='store_true')
    parser.add_argument('--no-scene', action='store_true',
                        help='skip the scene-pipeline throughput')
    parser.add_argument('--no-fold', action='store_true',
                        help='export the plain blocks (no folding)')
    parser.add_argument('--out', help='also write the table (Markdown)')
    return parser.parse_args(argv)


def synthetic_raster(path: str, size: int, seed: int = 0) -> str:
    """A ``size x size`` RGB GeoTIFF of synthetic aerial tiles."""
    if osp.isfile(path):
        return path
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size, 3), np.uint8)
    for row in range(0, size, 256):
        for col in range(0, size, 256):
            tile, _ = render_tile(rng, 256)
            image[row:row + 256, col:col + 256] = \
                tile[:size - row, :size - col]
    return write_tiff(path, image, pixel_size=0.05)


def seeded_checkpoint(config: str, path: str) -> str:
    if not osp.isfile(path):
        torch.manual_seed(0)
        model = build_model_from_config(Config.fromfile(config))
        torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def tiles_of(raster: str, size: int, count: int, bgr: bool) -> np.ndarray:
    """``count`` float32 tiles (B, 3, size, size) of ``raster``, in the
    model's channel layout."""
    import rasterio
    with rasterio.open(raster) as f:
        data = f.read().astype(np.float32)
    if bgr:
        data = data[::-1]
    per_row = data.shape[2] // size
    tiles = []
    for i in range(count):
        r, c = divmod(i % (per_row * (data.shape[1] // size)), per_row)
        tiles.append(data[:, r * size:(r + 1) * size,
                          c * size:(c + 1) * size])
    return np.ascontiguousarray(np.stack(tiles))


def labels_of(task: str, output: np.ndarray) -> np.ndarray:
    return np.asarray(output).argmax(1)


def benchmark_model(task: str, args, work: str, raster: str,
                    log=print) -> List[Dict]:
    config = MODELS[task]
    checkpoint = getattr(args, f'{task}_checkpoint') or seeded_checkpoint(
        config, osp.join(work, f'{task}_seeded.pth'))
    size = 224 if task == 'cls' else args.seg_tile
    batch_size = args.cls_batch if task == 'cls' else 1
    onnx_path = osp.join(work, f'{task}.onnx')
    torch_model = TorchModel(config, checkpoint)
    deploy_export.export_model(config, checkpoint, onnx_path,
                               tile=(size, size), check_batch=1,
                               fold=not args.no_fold, log=log)
    models = {'PyTorch eager (fp32)': torch_model}
    for name in BACKENDS:
        try:
            models[f'{name} fp32'] = deploy_export_load(onnx_path, name)
        except RuntimeMissing as error:
            log(f'skipped {name}: {error}')
    if not args.no_int8:
        int8 = quantize_model(onnx_path, [raster],
                              count=args.calibration_tiles,
                              tile=(size, size), log=log)
        for name in BACKENDS:
            try:
                models[f'{name} INT8'] = deploy_export_load(int8['model'],
                                                            name)
            except RuntimeMissing:
                pass
    batch = tiles_of(raster, size, batch_size,
                     torch_model.info.channel_order == 'bgr')
    outputs = {name: model.forward(batch) for name, model in models.items()}
    seconds = time_interleaved(
        {name: (lambda m=model: m.forward(batch))
         for name, model in models.items()}, rounds=args.rounds)
    base = seconds['PyTorch eager (fp32)']
    reference = labels_of(task, outputs['PyTorch eager (fp32)'])
    rows = []
    for name, model in models.items():
        labels = labels_of(task, outputs[name])
        agree = map_agreement(reference, labels,
                              len(torch_model.info.classes), ignore=None)
        rows.append({
            'model': f'{task} {size}px x{batch_size}', 'backend': name,
            'ms / batch': seconds[name] * 1000,
            'images/s': batch_size / seconds[name],
            'x PyTorch': base / seconds[name],
            'agreement with PyTorch': f'{agree["pixel_agreement"]:.4f}',
            'mIoU with PyTorch': f'{agree["miou"]:.4f}'
            if task == 'seg' else '-'})
    if task == 'seg' and not args.no_scene:
        scene_throughput(models, raster, size, rows, args.rounds, log)
    return rows


def deploy_export_load(path: str, backend: str):
    from lemevit_mm.deploy import load_exported
    return load_exported(path, backend)


def scene_throughput(models: Dict, raster: str, size: int,
                     rows: List[Dict], rounds: int, log=print) -> None:
    """Tiles/s of the scene pipeline (no overlap: every tile is a model
    tile) over the raw forward's, for every backend."""
    for row, (name, model) in zip(rows, models.items()):
        inferencer = build_inferencer(model, batch_size=1, quiet=True)
        best = None
        for _ in range(max(1, rounds - 1)):
            result = inferencer.infer([raster], None, tile=(size, size),
                                      overlap=0)
            rate = result['tiles'] / result['seconds']
            best = rate if best is None else max(best, rate)
        row['scene tiles/s'] = best
        row['scene / raw'] = f'{best / row["images/s"]:.2f}'


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    size = max(args.seg_tile * 2, 448 * 2)
    raster = synthetic_raster(osp.join(work, f'aerial_{size}.tif'), size)
    rows = []
    for task in args.models:
        rows.extend(benchmark_model(task, args, work, raster))
    env = environment()
    columns = ['model', 'backend', 'ms / batch', 'images/s', 'x PyTorch',
               'agreement with PyTorch', 'mIoU with PyTorch',
               'scene tiles/s', 'scene / raw']
    table = format_table(rows, columns)
    header = (f'{env["date"]}; {env["cpu"]} ({env["cpus"]} CPUs); '
              f'Python {env["python"]}, torch {env["torch"]}, onnxruntime '
              f'{env["onnxruntime"]}, openvino {env["openvino"]}, onnx '
              f'{env["onnx"]}')
    print(header)
    print(table)
    if args.out:
        from lemevit_mm.io.atomic import write_text
        write_text(args.out, header + '\n\n' + table + '\n')


if __name__ == '__main__':
    sys.exit(main())
