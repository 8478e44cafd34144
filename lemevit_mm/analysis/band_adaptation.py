"""What an infrared band adds, and which stem adaptation of an RGB
checkpoint learns it fastest: the library of
``tools/analysis_tools/band_adaptation_benchmark.py`` (see there).

The task: a generated 4-band (R, G, B, IR) Potsdam-style sample in which
roofs are painted in the colours of the surrounding low vegetation, so
that only the infrared band shows the buildings (:func:`make_ir_task`).
"""
import multiprocessing
import os
import os.path as osp
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from ..apis import merge_cfg_options, setup_task
from ..testing import seg as synthetic
from ..testing.rasters import write_tiff

SCORED = ('impervious_surface', 'building', 'low_vegetation', 'tree',
          'car')
IGNORE_INDEX = 255
# Mean infrared response per raw label id (uint8): vegetation reflects
# the near infrared strongly, man-made surfaces and water-free soil less.
IR_LEVEL = {
    synthetic.BOUNDARY: 120,
    synthetic.IMPERVIOUS: 75,
    synthetic.BUILDING: 60,
    synthetic.LOW_VEGETATION: 175,
    synthetic.TREE: 200,
    synthetic.CAR: 55,
    synthetic.CLUTTER: 115,
}
RUNS = (('RGB', 3, None), ('RGBIR zero', 4, 'zero'),
        ('RGBIR mean', 4, 'mean'), ('RGBIR repeat', 4, 'repeat'))


# ------------------------------------------------------------------ data
def paint_roofs_like_lawn(rng: np.random.Generator, image: np.ndarray,
                          label: np.ndarray) -> np.ndarray:
    """Replace every roof's colours by low-vegetation texture (drawn and
    blurred as the ground of :func:`synthetic.render_tile`)."""
    size = image.shape[0]
    lawn = synthetic.textured(rng, image.shape[:2], (105, 135, 70), 14,
                              max(size // 16, 1))
    lawn = cv2.GaussianBlur(lawn, (3, 3), 0.7)
    roof = label == synthetic.BUILDING
    painted = image.copy()
    painted[roof] = np.clip(lawn[roof], 0, 255).astype(np.uint8)
    return painted


def infrared(rng: np.random.Generator, label: np.ndarray) -> np.ndarray:
    """The IR band of a tile: a level per class plus textured noise."""
    size = label.shape[0]
    levels = np.zeros(256, np.float32)
    for class_id, level in IR_LEVEL.items():
        levels[class_id] = level
    noise = synthetic.textured(rng, label.shape, (0, 0, 0), 12,
                               max(size // 16, 1))[..., 0]
    band = cv2.GaussianBlur(levels[label] + noise, (3, 3), 0.7)
    return np.clip(band, 0, 255).astype(np.uint8)


def write_rgbir_tile(path: str, image: np.ndarray) -> None:
    """A 4-band uint8 GeoTIFF (R, G, B, IR; no georeference)."""
    write_tiff(path, image)


def make_ir_task(out_dir: str, num_train: int, num_val: int, size: int,
                 seed: int) -> Tuple[float, float]:
    """Write the painted-roof task in mmseg's Potsdam layout (4-band
    ``img_dir/<split>/*.tif``, ``ann_dir/<split>/*.png``); return the
    mean and std of the IR band over the training tiles."""
    rng = np.random.default_rng(seed + 1000)
    tiles = synthetic.render_sample_tiles(num_train, num_val, size, seed,
                                          boundary_width=1)
    pixels = []
    for tile in tiles:
        split = tile['split']
        raw = tile['label']
        for kind in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(out_dir, kind, split), exist_ok=True)
        rgb = paint_roofs_like_lawn(rng, tile['image'], raw)
        image = np.dstack([rgb, infrared(rng, raw)])
        write_rgbir_tile(osp.join(out_dir, 'img_dir', split,
                                  tile['crop'] + '.tif'), image)
        cv2.imwrite(osp.join(out_dir, 'ann_dir', split,
                             tile['crop'] + '.png'), raw)
        if split == 'train':
            pixels.append(image[..., 3].astype(np.float64).ravel())
    pixels = np.concatenate(pixels)
    return round(float(pixels.mean()), 3), round(float(pixels.std()), 3)


# --------------------------------------------------------------- configs
def base_config(args, name: str, iters: int) -> Config:
    """The sample config (``args.config``) with a schedule of ``iters``
    and no validation loop (scored afterwards)."""
    work_dir, seed = args.work_dir, args.seed
    cfg = Config.fromfile(args.config)
    if args.head_channels:
        cfg.model.decode_head.channels = args.head_channels
        cfg.model.auxiliary_head.channels = max(args.head_channels // 2, 1)
    cfg.work_dir = osp.join(work_dir, name.replace(' ', '_'))
    cfg.experiment_name = name.replace(' ', '_')
    cfg.launcher = 'none'
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    warmup = min(cfg.warmup_iters, max(iters // 5, 1))
    cfg.param_scheduler[0].end = warmup
    cfg.param_scheduler[1].update(begin=warmup, end=iters)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.default_hooks.checkpoint.update(interval=iters, max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = max(iters // 5, 1)
    cfg.randomness = dict(seed=seed)
    return cfg


def without_colour_jitter(pipeline: list) -> list:
    """The pipeline without PhotoMetricDistortion (RGB-only; dropped in
    every run so that all see the same augmentation)."""
    return [step for step in pipeline
            if step['type'] != 'PhotoMetricDistortion']


def band_pipeline(pipeline: list, bands: List[int]) -> list:
    """``pipeline`` reading ``bands`` (1-based) of the 4-band TIFFs."""
    steps = []
    for step in without_colour_jitter(pipeline):
        if step['type'] == 'LoadImageFromFile':
            step = dict(type='LoadMultiBandImageFromFile', bands=bands)
        steps.append(step)
    return steps


def pretrain_config(args, data_root: str) -> Config:
    cfg = base_config(args, 'pretrain_rgb', args.pretrain_iters)
    merge_cfg_options(cfg, dict(data_root=data_root))
    cfg.train_dataloader.dataset.pipeline = without_colour_jitter(
        cfg.train_dataloader.dataset.pipeline)
    return cfg


def finetune_config(args, name: str, channels: int, mode: Optional[str],
                    data_root: str, pretrained: str, ir_mean: float,
                    ir_std: float) -> Config:
    cfg = base_config(args, name, args.iters)
    merge_cfg_options(cfg, dict(data_root=data_root))
    bands = list(range(1, channels + 1))
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.dataset.img_suffix = '.tif'
        loader.dataset.pipeline = band_pipeline(loader.dataset.pipeline,
                                                bands)
    init_cfg = dict(type='Pretrained', checkpoint=pretrained,
                    prefix='backbone.')
    if mode is not None:
        init_cfg['adapt_channels'] = mode
    cfg.model.backbone.update(in_channels=channels, init_cfg=init_cfg)
    # R, G, B normalised as in the RGB pretraining, IR by its own
    # statistics; the raster reader gives the bands in file order.
    preprocessor = cfg.model.data_preprocessor
    mean = list(preprocessor.mean) + [ir_mean]
    std = list(preprocessor.std) + [ir_std]
    preprocessor.update(
        type='MultiBandSegDataPreProcessor', mean=mean[:channels],
        std=std[:channels], bgr_to_rgb=False)
    return cfg


# --------------------------------------------------------------- scoring
def confusion(runner: Runner, num_classes: int) -> np.ndarray:
    """The confusion matrix (true x predicted) over the test tiles."""
    model = runner.model
    model.eval()
    matrix = np.zeros((num_classes, num_classes), np.int64)
    with torch.no_grad():
        for batch in runner.test_dataloader:
            for sample in model.test_step(batch):
                truth = sample.gt_sem_seg.data[0].numpy().ravel()
                pred = sample.pred_sem_seg.data[0].numpy().ravel()
                keep = truth != IGNORE_INDEX
                matrix += np.bincount(
                    truth[keep] * num_classes + pred[keep],
                    minlength=num_classes**2).reshape(num_classes,
                                                      num_classes)
    return matrix


def scores(matrix: np.ndarray) -> Dict[str, float]:
    """OA, per-class F1 and mF1 (percent) of a confusion matrix."""
    true_pos = np.diag(matrix).astype(np.float64)
    denom = matrix.sum(0) + matrix.sum(1)
    f1 = np.where(denom > 0, 2 * true_pos / np.maximum(denom, 1), np.nan)
    result = {name: 100 * value for name, value in zip(SCORED, f1)}
    result['mF1'] = 100 * float(np.nanmean(f1))
    result['OA'] = 100 * true_pos.sum() / max(matrix.sum(), 1)
    return result


def train_and_score(cfg: Config,
                    threads: Optional[int] = None
                    ) -> Tuple[Dict[str, float], float]:
    """Train ``cfg``; return its scores and the training seconds."""
    if threads:
        torch.set_num_threads(threads)
    setup_task(cfg)
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    seconds = time.time() - start
    return scores(confusion(runner, len(SCORED))), seconds


def print_table(rows: List[Tuple[str, Dict[str, float], float]],
                iters: int) -> None:
    short = ('imp.surf', 'building', 'low_veg', 'tree', 'car')
    header = f'{"run":<14}' + ''.join(f'{s:>9}' for s in short) + \
        f'{"mF1":>8}{"OA":>8}{"train s":>9}'
    print(f'\nPer-class F1 (%) after {iters} iterations, 4-band val tiles '
          '(roofs visible only in IR):')
    print(header)
    print('-' * len(header))
    for name, result, seconds in rows:
        print(f'{name:<14}' + ''.join(f'{result[c]:9.2f}' for c in SCORED)
              + f'{result["mF1"]:8.2f}{result["OA"]:8.2f}{seconds:9.0f}')


def run_band_adaptation(args) -> List[Tuple[str, Dict[str, float], float]]:
    """The whole benchmark: data, RGB pretraining, the fine-tuning runs
    and the table (printed). ``args``: the options of
    ``tools/analysis_tools/band_adaptation_benchmark.py`` and ``config``,
    the sample config.

    Returns:
        list: ``(run name, scores, training seconds)`` per run.
    """
    start = time.time()
    rgb_root = osp.join(args.work_dir, 'data', 'potsdam_rgb')
    ir_root = osp.join(args.work_dir, 'data', 'potsdam_painted_roofs')
    synthetic.make_potsdam_sample(rgb_root, args.num_train, 2,
                                  size=args.size, seed=args.seed + 1)
    ir_mean, ir_std = make_ir_task(ir_root, args.num_train, args.num_val,
                                   args.size, args.seed)
    print(f'[bench] RGBIR task in {ir_root}: IR mean {ir_mean}, '
          f'std {ir_std}')

    pretrained = osp.join(args.work_dir, 'pretrain_rgb',
                          f'iter_{args.pretrain_iters}.pth')
    if not osp.isfile(pretrained):
        print(f'[bench] RGB pretraining, {args.pretrain_iters} iterations '
              'on the ordinary RGB sample ...')
        cfg = pretrain_config(args, rgb_root)
        setup_task(cfg)
        Runner.from_cfg(cfg).train()
    print(f'[bench] RGB weights: {pretrained}')

    runs = [(name, finetune_config(args, name, channels, mode, ir_root,
                                   pretrained, ir_mean, ir_std))
            for name, channels, mode in RUNS if name in args.runs]
    print(f'[bench] {len(runs)} runs of {args.iters} iterations, '
          f'{args.jobs} at a time ...')
    threads = max(torch.get_num_threads() // args.jobs, 1)
    with ProcessPoolExecutor(
            max_workers=args.jobs,
            mp_context=multiprocessing.get_context('spawn')) as pool:
        futures = [pool.submit(train_and_score, cfg, threads)
                   for _, cfg in runs]
        rows = []
        for (name, _), future in zip(runs, futures):
            result, seconds = future.result()
            rows.append((name, result, seconds))
            print(f'[bench] {name}: building F1 {result["building"]:.2f}, '
                  f'mF1 {result["mF1"]:.2f}')
    print_table(rows, args.iters)
    print(f'\n[bench] torch {torch.__version__}, {torch.get_num_threads()} '
          f'threads, {os.cpu_count()} CPUs; total '
          f'{(time.time() - start) / 60:.1f} min')
    return rows
