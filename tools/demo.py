"""Demo: train and evaluate LeMeViT-tiny UperNet on a synthetic Potsdam
sample, on the CPU, in a few minutes.

1. Writes a synthetic ISPRS Potsdam sample (mmseg's converted layout and
   label ids) to ``--data-root``.
2. Builds the real LeMeViT-tiny UperNet from
   ``configs/seg/lemevit_t_upernet_potsdam_sample.py`` (the Potsdam recipe
   with small tiles and a short schedule) and scores it untrained.
3. Trains it for ``--iters`` iterations, then scores it again with slide
   inference: overall accuracy (OA), mean F1 (mF1) and mIoU over the five
   scored classes (clutter and boundaries ignored).
4. Writes ``demo_predictions.png`` to the work dir: input, ground truth,
   untrained and trained predictions, side by side.
5. Applies the trained model to a whole georeferenced scene, as
   ``tools/infer.py`` does: a synthetic 512x512 GeoTIFF (UTM) becomes a
   class-map GeoTIFF with the scene's georeference, scored against its
   ground truth, and ``demo_scene.png`` (scene | predicted map | truth).

Usage::

    python tools/demo.py [--iters 100] [--work-dir work_dirs/demo]
"""
import argparse
import os
import os.path as osp
import time
from typing import Dict, List, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import lemevit_mm  # noqa: F401  (registers models, weights-only load)
from lemevit_mm.apis import (SegmentationInferencer, merge_cfg_options,
                             setup_task)
from lemevit_mm.io.raster import GeoTiffWriter, RasterGrid
from lemevit_mm.testing.seg import make_potsdam_sample, render_tile

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'seg',
                  'lemevit_t_upernet_potsdam_sample.py')
IGNORED_COLOR = (0, 0, 0)  # boundary and clutter in the pictures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='logs, checkpoint and picture (default: '
                        'work_dirs/demo)')
    parser.add_argument('--data-root', default='data/potsdam_sample',
                        help='where to write the synthetic sample')
    parser.add_argument('--iters', type=int, default=100,
                        help='training iterations (default: 100)')
    parser.add_argument('--num-train', type=int, default=16,
                        help='training tiles (default: 16)')
    parser.add_argument('--num-val', type=int, default=4,
                        help='validation tiles (default: 4)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    args = parser.parse_args()
    if args.iters < 1:
        parser.error(f'--iters must be positive, got {args.iters}')
    return args


def demo_config(args: argparse.Namespace) -> Config:
    """The sample config, pointed at the demo's data, schedule and dirs."""
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = args.work_dir
    cfg.launcher = 'none'
    merge_cfg_options(cfg, dict(data_root=args.data_root))
    # Scored by hand before and after training: no validation loop.
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    warmup = min(cfg.warmup_iters, max(args.iters // 5, 1))
    cfg.param_scheduler[0].end = warmup
    cfg.param_scheduler[1].update(begin=warmup, end=args.iters)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters)
    cfg.default_hooks.checkpoint.interval = args.iters
    cfg.default_hooks.logger.interval = max(args.iters // 10, 1)
    cfg.randomness = dict(seed=args.seed)
    setup_task(cfg)
    return cfg


def predict(runner: Runner, count: int) -> List[Tuple[np.ndarray, ...]]:
    """(image RGB, ground truth, prediction) of the first test tiles."""
    model = runner.model
    model.eval()
    pictures = []
    with torch.no_grad():
        for batch in runner.test_dataloader:
            for sample in model.test_step(batch):
                image = cv2.imread(sample.img_path)[..., ::-1]
                pictures.append((image,
                                 sample.gt_sem_seg.data[0].numpy(),
                                 sample.pred_sem_seg.data[0].numpy()))
                if len(pictures) == count:
                    return pictures
    return pictures


def colorize(label: np.ndarray, palette: List[List[int]]) -> np.ndarray:
    """RGB picture of a label map; ignored pixels are black."""
    lut = np.zeros((256, 3), np.uint8)
    lut[:] = IGNORED_COLOR
    lut[:len(palette)] = palette
    return lut[label.astype(np.int64).clip(0, 255)]


def save_picture(path: str, untrained: list, trained: list,
                 palette: List[List[int]]) -> None:
    """Rows of input | ground truth | untrained | trained prediction."""
    rows = []
    for (image, gt, before), (_, _, after) in zip(untrained, trained):
        tiles = [image, colorize(gt, palette), colorize(before, palette),
                 colorize(after, palette)]
        gap = np.full((image.shape[0], 4, 3), 255, np.uint8)
        rows.append(np.concatenate(
            [part for tile in tiles for part in (tile, gap)][:-1], axis=1))
    picture = np.concatenate(rows, axis=0)
    picture = cv2.resize(picture, None, fx=2, fy=2,
                         interpolation=cv2.INTER_NEAREST)
    header = np.full((28, picture.shape[1], 3), 255, np.uint8)
    width = picture.shape[1] // 4
    for i, title in enumerate(('input', 'ground truth', 'untrained',
                               'trained')):
        cv2.putText(header, title, (i * width + 6, 20),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    picture = np.concatenate([header, picture], axis=0)
    cv2.imwrite(path, picture[..., ::-1])


def write_scene(path: str, size: int, seed: int,
                tile: int = 128) -> np.ndarray:
    """A synthetic ``size x size`` RGB GeoTIFF (UTM zone 33N, 5 cm
    pixels), a mosaic of ``tile``-sized sample tiles (objects at the
    training scale); returns its label map (Potsdam ids)."""
    from rasterio.transform import from_origin
    rng = np.random.default_rng(seed + 1000)
    n = -(-size // tile)
    tiles = [[render_tile(rng, tile) for _ in range(n)] for _ in range(n)]
    image = np.concatenate([np.concatenate([t[0] for t in row], 1)
                            for row in tiles])[:size, :size]
    label = np.concatenate([np.concatenate([t[1] for t in row], 1)
                            for row in tiles])[:size, :size]
    grid = RasterGrid(size, size, 'EPSG:32633',
                      from_origin(368000.0, 5810000.0, 0.05, 0.05))
    with GeoTiffWriter(path, grid, 3, 'uint8') as writer:
        writer.write(np.ascontiguousarray(image.transpose(2, 0, 1)), 0)
    return label


def infer_scene(args: argparse.Namespace, checkpoint: str,
                palette: List[List[int]]) -> Tuple[str, str, float]:
    """Step 5: the trained model on a whole GeoTIFF scene."""
    import rasterio
    scene = osp.join(args.work_dir, 'demo_scene.tif')
    out = osp.join(args.work_dir, 'demo_scene_classes.tif')
    truth = write_scene(scene, 512, args.seed)
    inferencer = SegmentationInferencer(CONFIG, checkpoint, batch_size=4,
                                        quiet=True)
    if osp.exists(out):
        os.remove(out)
    inferencer(scene, out)
    with rasterio.open(out) as f:
        predicted = f.read(1)
    with rasterio.open(scene) as f:
        image = f.read().transpose(1, 2, 0)
    # Potsdam ids 1-5 are the scored classes 0-4 (0 boundary, 6 clutter).
    scored = (truth >= 1) & (truth <= 5)
    accuracy = float((predicted[scored] == truth[scored] - 1).mean() * 100)
    truth_shown = np.where(scored, truth - 1, 255)
    gap = np.full((image.shape[0], 4, 3), 255, np.uint8)
    picture = np.concatenate([image, gap, colorize(predicted, palette), gap,
                              colorize(truth_shown, palette)], axis=1)
    path = osp.join(args.work_dir, 'demo_scene.png')
    cv2.imwrite(path, picture[..., ::-1])
    return out, path, accuracy


def summary(metrics: Dict[str, float]) -> str:
    return '  '.join(f'{key} {metrics[key]:6.2f}'
                     for key in ('OA', 'mF1', 'mIoU'))


def main() -> None:
    args = parse_args()
    start = time.time()
    counts = make_potsdam_sample(args.data_root, args.num_train,
                                 args.num_val, size=128, seed=args.seed)
    print(f'[demo] synthetic Potsdam sample: {counts["train"]} train / '
          f'{counts["val"]} val tiles of 128x128 in {args.data_root}')

    runner = Runner.from_cfg(demo_config(args))
    runner.model.init_weights()
    num_params = sum(p.numel() for p in runner.model.parameters())
    print(f'[demo] LeMeViT-tiny UperNet: {num_params / 1e6:.2f} M '
          'parameters (37.05 M published)')
    shown = min(3, args.num_val)
    untrained_pictures = predict(runner, shown)
    untrained = runner.test()
    print(f'[demo] untrained: {summary(untrained)}')

    print(f'[demo] training {args.iters} iterations on the CPU ...')
    runner.train()
    trained = runner.test()
    trained_pictures = predict(runner, shown)

    palette = runner.test_dataloader.dataset.metainfo['palette']
    picture = osp.join(args.work_dir, 'demo_predictions.png')
    save_picture(picture, untrained_pictures, trained_pictures, palette)
    checkpoint = osp.join(args.work_dir, f'iter_{args.iters}.pth')
    scene_map, scene_picture, scene_oa = infer_scene(args, checkpoint,
                                                     palette)
    minutes = (time.time() - start) / 60
    print('\n[demo] LeMeViT-tiny UperNet on the synthetic Potsdam val '
          'tiles (slide inference; 5 scored classes):')
    print(f'[demo]   untrained            {summary(untrained)}')
    print(f'[demo]   after {args.iters:4d} iterations {summary(trained)}')
    print(f'[demo] picture (input | ground truth | untrained | trained): '
          f'{picture}')
    print(f'[demo] whole 512x512 GeoTIFF scene -> {scene_map} '
          f'(OA {scene_oa:.2f}); picture (scene | prediction | truth): '
          f'{scene_picture}')
    print(f'[demo] the same from the command line:\n  python tools/infer.py '
          f'{osp.relpath(CONFIG)} {checkpoint} '
          f'{osp.join(args.work_dir, "demo_scene.tif")} -o scene_classes.tif')
    print(f'[demo] checkpoint: {checkpoint}; done in {minutes:.1f} min')
    if trained['mF1'] <= untrained['mF1']:
        print('[demo] WARNING: training did not improve mF1.')


if __name__ == '__main__':
    main()
