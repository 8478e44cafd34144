"""Scene-scale inference: a trained model of any task applied to whole
rasters, read and written window by window.

One inferencer per task, all built on :class:`SceneInferencer` (config
and checkpoint loading, input checks, batching, reading ahead, progress)
and on the tiling of :mod:`lemevit_mm.apis.tiling`:

- :class:`SegmentationInferencer`: class map (+ probabilities);
- :class:`ChangeInferencer`: change mask of two co-registered dates;
- :class:`RotatedDetectionInferencer`: rotated boxes of the whole scene,
  merged across patch borders;
- :class:`ClassificationInferencer`: top-k classes of images, or a class
  map of a large scene with one pixel per tile.

:func:`build_inferencer` picks the class from the config, as
``tools/infer.py`` does.

Pixel values reach the data preprocessor as the config's image loader
would hand them over: a 3-band raster (RGB in the file) in BGR order for
OpenMMLab's ``LoadImageFromFile`` (the preprocessor's ``bgr_to_rgb``
turns it back), in file order for the multi-band and pair loaders of
this project; other band counts keep their band order. The values
themselves are not rescaled: uint8 and uint16 rasters are normalised by
the preprocessor's ``mean`` and ``std``, in the data's own units.
"""
import logging
import os.path as osp
import queue
import sys
import threading
import time
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import print_log

from ..models.utils import fast_inference
from ..raster import (GeoTiffWriter, RasterError, RasterSource,
                      check_same_grid, coarsened_transform,
                      float16_supported, pixel_to_map)
from .tiling import StreamingBlender, grid_size, pad_tile, tile_grid

__all__ = [
    'build_model_from_config', 'load_model', 'task_of', 'build_inferencer',
    'SceneInferencer', 'SegmentationInferencer', 'ChangeInferencer',
    'RotatedDetectionInferencer', 'ClassificationInferencer', 'Progress'
]

Tile = Tuple[int, int]


# ---------------------------------------------------------------------------
# Config, model and checkpoint
# ---------------------------------------------------------------------------
def task_of(cfg: Config) -> str:
    """``'seg'``, ``'cd'``, ``'det'`` or ``'cls'`` for a config, from its
    ``default_scope`` and model type (as ``tools/test.py`` builds it)."""
    scope = cfg.get('default_scope')
    model_type = str(cfg.model.get('type', ''))
    if scope == 'mmseg':
        return 'cd' if 'Siamese' in model_type else 'seg'
    if scope in ('mmrotate', 'mmdet'):
        return 'det'
    if scope == 'mmpretrain':
        return 'cls'
    raise ValueError(
        f'{cfg.filename}: cannot tell the task from default_scope='
        f"{scope!r}; expected 'mmseg', 'mmrotate' or 'mmpretrain'.")


def build_model_from_config(cfg: Config) -> torch.nn.Module:
    """Build ``cfg.model`` the way MMEngine's runner does (custom imports,
    the config's default scope, its data preprocessor)."""
    from mmengine.registry import MODELS, DefaultScope
    from mmengine.utils import import_modules_from_strings
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    DefaultScope.get_instance(f'lemevit-{id(cfg)}-{time.time_ns()}',
                              scope_name=cfg.get('default_scope'))
    model = cfg.model
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return MODELS.build(model)


def _describe_mismatch(model: torch.nn.Module, state: dict) -> str:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f'{k} {tuple(state[k].shape)} in the file, '
              f'{tuple(own[k].shape)} in the model'
              for k in own if k in state and state[k].shape != own[k].shape]
    parts = []
    if shapes:
        parts.append(f'{len(shapes)} shape(s) differ: ' +
                     '; '.join(shapes[:3]))
    if missing:
        parts.append(f'{len(missing)} weight(s) missing, e.g. ' +
                     ', '.join(missing[:3]))
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected weight(s), e.g. ' +
                     ', '.join(unexpected[:3]))
    return '. '.join(parts)


def load_model(config: Union[str, Config],
               checkpoint: Optional[str],
               device: str = 'cpu') -> Tuple[torch.nn.Module, Config, dict]:
    """Build the config's model, load a checkpoint that must fit it
    exactly, and put it in eval mode on ``device``.

    Returns:
        tuple: ``(model, cfg, meta)``; ``meta`` is the checkpoint's
        ``meta`` entry (``dataset_meta`` holds the class names).

    Raises:
        FileNotFoundError: The config or checkpoint does not exist.
        ValueError: The checkpoint does not fit the config (names the
            weights that differ).
    """
    from ..utils.checkpoint import load_weights, select_state_dict
    if isinstance(config, Config):
        cfg = config
    else:
        if not osp.isfile(config):
            raise FileNotFoundError(f'Config {config} does not exist.')
        cfg = Config.fromfile(config)
    model = build_model_from_config(cfg)
    meta: dict = {}
    if checkpoint is not None:
        loaded = load_weights(checkpoint)
        state = select_state_dict(loaded, name=checkpoint)
        if isinstance(loaded, dict) and isinstance(loaded.get('meta'), dict):
            meta = loaded['meta']
        state = {k[len('module.'):] if k.startswith('module.') else k: v
                 for k, v in state.items()}
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError:
            raise ValueError(
                f'Checkpoint {checkpoint} does not fit the model of '
                f'{cfg.filename}: {_describe_mismatch(model, state)}.') \
                from None
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise ValueError(f'--device {device}: no CUDA device here.')
    return model.to(device).eval(), cfg, meta


def build_inferencer(config: Union[str, Config],
                     checkpoint: Optional[str], **kwargs
                     ) -> 'SceneInferencer':
    """The inferencer of the config's task (see :func:`task_of`)."""
    cfg = config if isinstance(config, Config) else None
    if cfg is None:
        if not osp.isfile(config):
            raise FileNotFoundError(f'Config {config} does not exist.')
        cfg = Config.fromfile(config)
    inferencer_class = dict(
        seg=SegmentationInferencer, cd=ChangeInferencer,
        det=RotatedDetectionInferencer,
        cls=ClassificationInferencer)[task_of(cfg)]
    return inferencer_class(cfg, checkpoint, **kwargs)


def test_pipeline(cfg: Config) -> List[dict]:
    """The steps of the config's test pipeline."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    return list(dataset.get('pipeline') or cfg.get('test_pipeline') or [])


def loader_channel_order(cfg: Config) -> str:
    """In which order the config's image loader hands over the bands of a
    3-band image: ``'bgr'`` (OpenMMLab's ``LoadImageFromFile``, OpenCV's
    order, turned back by the preprocessor's ``bgr_to_rgb``) or ``'file'``
    (the multi-band loaders, and ``LoadImagePairFromFile`` with its
    default ``channel_order='rgb'``)."""
    for step in test_pipeline(cfg):
        kind = str(step.get('type', ''))
        if 'Load' not in kind or 'Annotation' in kind:
            continue
        if 'MultiBand' in kind:
            return 'file'
        return 'file' if step.get('channel_order', 'bgr' if kind ==
                                  'LoadImageFromFile' else 'rgb') == 'rgb' \
            else 'bgr'
    return 'bgr'


# ---------------------------------------------------------------------------
# Progress and reading ahead
# ---------------------------------------------------------------------------
class Progress:
    """A one-line progress bar on stderr: done/total tiles, tiles/s, ETA.

    Args:
        total (int): Number of tiles.
        label (str): What is being processed (shown first).
        quiet (bool): Print nothing.
    """

    def __init__(self, total: int, label: str, quiet: bool = False) -> None:
        self.total, self.label, self.quiet = total, label, quiet
        self.done = 0
        self.start = time.perf_counter()
        self._last_print = 0.

    @property
    def rate(self) -> float:
        """Tiles per second so far."""
        elapsed = time.perf_counter() - self.start
        return self.done / elapsed if elapsed > 0 else 0.

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if self.quiet or (now - self._last_print < 0.5 and
                          self.done < self.total):
            return
        self._last_print = now
        rate = self.rate
        eta = (self.total - self.done) / rate if rate > 0 else 0.
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = '#' * filled + '.' * (width - filled)
        minutes, seconds = divmod(int(eta), 60)
        sys.stderr.write(
            f'\r{self.label} [{bar}] {self.done}/{self.total} tiles '
            f'{rate:.2f} tiles/s ETA {minutes // 60}:{minutes % 60:02d}:'
            f'{seconds:02d}')
        if self.done >= self.total:
            sys.stderr.write('\n')
        sys.stderr.flush()


_END = object()


def read_ahead(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Iterate ``items`` in a background thread, up to ``depth`` ahead,
    so that reading (GDAL releases the GIL) overlaps the model. An error
    in the thread is raised here."""
    buffer: 'queue.Queue' = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                buffer.put(item)
        except BaseException as error:  # handed to the consumer
            buffer.put((_END, error))
            return
        buffer.put((_END, None))

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if isinstance(item, tuple) and len(item) == 2 and \
                    item[0] is _END:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on put()
            try:
                buffer.get_nowait()
            except queue.Empty:
                worker.join(0.05)


# ---------------------------------------------------------------------------
# The shared base
# ---------------------------------------------------------------------------
class SceneInferencer:
    """Loads a model from a config and a checkpoint and feeds it tiles of
    rasters in batches.

    Args:
        config (str | Config): The model's config.
        checkpoint (str, optional): Trained weights (None: as built).
        device (str): ``'cpu'`` or ``'cuda[:N]'``. Defaults to ``'cpu'``.
        batch_size (int): Tiles per forward pass. Defaults to 4.
        bands (Sequence[int], optional): 1-based bands of the input to use
            (default: all, which must match the model's input channels).
        amp (bool): Autocast (bf16 on CPU, fp16 on CUDA). Ignored, with a
            warning, on a CPU without native bf16 (no AVX-512), where bf16
            is emulated and many times slower than float32.
        quiet (bool): No progress bar.
    """

    task = ''

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str],
                 device: str = 'cpu',
                 batch_size: int = 4,
                 bands: Optional[Sequence[int]] = None,
                 amp: bool = False,
                 quiet: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.model, self.cfg, self.meta = load_model(config, checkpoint,
                                                     device)
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.bands = tuple(bands) if bands else None
        if amp and self.device.type == 'cpu' and \
                torch.bfloat16 not in fast_inference.ONEDNN_DTYPES:
            print_log(
                'amp: this CPU has no native bfloat16 (AVX-512), where '
                'bf16 autocast is emulated and about 10x slower than '
                'float32: running in float32', logger='current',
                level=logging.WARNING)
            amp = False
        self.amp = amp
        self.quiet = quiet
        preprocessor = self.model.data_preprocessor
        mean = getattr(preprocessor, 'mean', None)
        self.mean = None if mean is None else \
            mean.detach().flatten().cpu().numpy()
        self.channel_order = loader_channel_order(self.cfg)

    # -- inputs ------------------------------------------------------------
    @property
    def in_channels(self) -> int:
        """Bands of one image the model takes."""
        if self.mean is not None and self.mean.size > 1:
            return int(self.mean.size)
        return int(self.cfg.model.get('backbone', {}).get('in_channels', 3))

    def open(self, path: str,
             align_to: Optional[RasterSource] = None) -> RasterSource:
        """Open an input raster with this inferencer's band selection and
        check that its bands fit the model."""
        source = RasterSource(path, self.bands, align_to=align_to)
        if source.count != self.in_channels:
            source.close()
            hint = ' (choose them with --bands)' if source.count > \
                self.in_channels else ''
            raise RasterError(
                f'{path}: {source.count} band(s) selected, but the model '
                f'of {self.cfg.filename} takes {self.in_channels}{hint}.')
        return source

    def to_model_layout(self, data: np.ndarray, path: str,
                        dtype: Optional[type] = np.float32) -> np.ndarray:
        """A ``(C, h, w)`` read as the config's image loader would hand it
        to the data preprocessor (see :func:`loader_channel_order`), as
        ``dtype`` (None: unchanged), after checking that the values fit
        the preprocessor's normalisation."""
        if data.dtype.itemsize > 1 and data.dtype.kind in 'ui' and \
                self.mean is not None and self.mean.max() < 256 and \
                data.size and data.max() > 255:
            raise RasterError(
                f'{path}: {data.dtype} values up to {int(data.max())}, but '
                f'the data_preprocessor.mean of {self.cfg.filename} '
                f'({self.mean.round(2).tolist()}) is for 8-bit data: '
                'give the mean/std of this data in its own units.')
        if data.shape[0] == 3 and self.channel_order == 'bgr':
            data = data[::-1]
        return data if dtype is None else data.astype(dtype)

    def _autocast(self):
        if not self.amp:
            return torch.autocast(self.device.type, enabled=False)
        dtype = torch.float16 if self.device.type == 'cuda' else \
            torch.bfloat16
        return torch.autocast(self.device.type, dtype=dtype)

    def _preprocess(self, batch: np.ndarray,
                    data_samples: Optional[list] = None) -> dict:
        data = dict(inputs=list(torch.from_numpy(batch)))
        if data_samples is not None:
            data['data_samples'] = data_samples
        return self.model.data_preprocessor(data, False)

    def _tiles(self, sources: Sequence[RasterSource], tile: Tile,
               overlap: int, pad: Callable[[np.ndarray, Tile], np.ndarray]
               ) -> Iterator[Tuple[int, int, int, np.ndarray]]:
        """``(tile_row_index, row, col, (C, tile_h, tile_w))`` in row-major
        order; several sources (dates) are stacked on the channel axis."""
        first = sources[0]
        for index, origins in enumerate(
                tile_grid(first.height, first.width, tile, overlap)):
            for row, col in origins:
                window = (row, col, min(tile[0], first.height - row),
                          min(tile[1], first.width - col))
                parts = [self.to_model_layout(s.read(window), s.path)
                         for s in sources]
                yield index, row, col, pad(np.concatenate(parts), tile)

    def _batches(self, tiles: Iterator[tuple]) -> Iterator[List[tuple]]:
        batch: List[tuple] = []
        for item in tiles:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def tile_size(self, tile: Optional[Tile]) -> Tile:
        """The tile size: the given one or the config's default."""
        if tile is None:
            tile = self.default_tile()
        tile = (int(tile[0]), int(tile[1]))
        if min(tile) < 32:
            raise ValueError(f'--tile {tile[0]} {tile[1]}: tiles must be at '
                             'least 32x32 pixels.')
        return tile

    def default_tile(self) -> Tile:
        raise NotImplementedError

    def default_overlap(self, tile: Tile) -> int:
        raise NotImplementedError

    # -- class names and colours -------------------------------------------
    @property
    def classes(self) -> Tuple[str, ...]:
        """Class names: the checkpoint's ``dataset_meta``, else the
        config's test set metainfo, else the dataset class's."""
        meta = self.meta.get('dataset_meta') or {}
        if meta.get('classes'):
            return tuple(meta['classes'])
        dataset = (self.cfg.get('test_dataloader') or {}).get('dataset', {})
        metainfo = dataset.get('metainfo') or {}
        if metainfo.get('classes'):
            return tuple(metainfo['classes'])
        dataset_class = self._dataset_class(dataset)
        classes = getattr(dataset_class, 'METAINFO', {}).get('classes')
        if classes:
            return tuple(classes)
        return tuple(f'class_{i}' for i in range(self.num_classes))

    @property
    def num_classes(self) -> int:
        head = self.cfg.model.get('decode_head') or \
            self.cfg.model.get('head') or {}
        return int(head.get('num_classes', 0))

    def _dataset_class(self, dataset: dict):
        """The config's dataset class (in its default scope), if known."""
        from mmengine.registry import DATASETS
        try:
            with DATASETS.switch_scope_and_registry(
                    self.cfg.get('default_scope')) as registry:
                return registry.get(dataset.get('type'))
        except Exception:  # an unknown type: no names from it
            return None

    def palette(self) -> List[Tuple[int, int, int]]:
        """A colour per class: the dataset's palette, else a fixed one."""
        meta = self.meta.get('dataset_meta') or {}
        palette = meta.get('palette')
        if not palette:
            dataset = (self.cfg.get('test_dataloader') or {}).get(
                'dataset', {})
            dataset_class = self._dataset_class(dataset)
            palette = getattr(dataset_class, 'METAINFO', {}).get('palette')
        classes = self.classes
        if not palette or len(palette) < len(classes):
            rng = np.random.RandomState(42)
            palette = [tuple(int(v) for v in rng.randint(0, 256, 3))
                       for _ in classes]
        return [tuple(int(v) for v in c[:3]) for c in palette[:len(classes)]]


# ---------------------------------------------------------------------------
# Dense tasks: segmentation and change detection
# ---------------------------------------------------------------------------
class DenseResult(dict):
    """What a dense inferencer returns: ``labels`` ((H, W) uint8, 255 at
    nodata) and ``probs`` ((K, H, W) float32) when kept in memory, else
    the written ``paths``; plus ``tiles`` and ``seconds``."""


class _DenseInferencer(SceneInferencer):
    """Blends the logits of overlapping tiles (see :mod:`.tiling`)."""

    NODATA_LABEL = 255

    def default_tile(self) -> Tile:
        test_cfg = self.cfg.model.get('test_cfg') or {}
        crop = test_cfg.get('crop_size') or \
            (self.cfg.get('crop_size') or (512, 512))
        return tuple(crop)

    def default_overlap(self, tile: Tile) -> int:
        test_cfg = self.cfg.model.get('test_cfg') or {}
        stride = test_cfg.get('stride')
        if stride is None:
            return min(tile) // 4
        return max(0, min(tile[0] - stride[0], tile[1] - stride[1]))

    def forward_tiles(self, batch: np.ndarray) -> np.ndarray:
        """Per-pixel logits ``(B, K, h, w)`` of a batch of tiles given as
        ``(B, C, h, w)`` float32 in the model's channel layout."""
        h, w = batch.shape[2:]
        with torch.no_grad(), self._autocast():
            inputs = self._preprocess(batch)['inputs']
            metas = [dict(img_shape=(h, w), ori_shape=(h, w),
                          pad_shape=(h, w))] * len(batch)
            logits = self.model.encode_decode(inputs, metas)
        return logits.float().cpu().numpy()

    def _predict(self,
                 sources: Sequence[RasterSource],
                 mask_sources: Sequence[RasterSource],
                 sink: Callable[[int, np.ndarray, np.ndarray], None],
                 tile: Optional[Tile], overlap: Optional[int],
                 forward: Optional[Callable] = None) -> Tuple[int, float]:
        """Run the scene through the model; ``sink(row, logits (K, n, W),
        valid (n, W))`` receives the finished rows in order."""
        tile = self.tile_size(tile)
        overlap = self.default_overlap(tile) if overlap is None else overlap
        forward = forward or self.forward_tiles
        first = sources[0]
        height, width = first.height, first.width
        total = grid_size(height, width, tile, overlap)
        progress = Progress(total, osp.basename(first.path), self.quiet)
        blender: Optional[StreamingBlender] = None
        grid = tile_grid(height, width, tile, overlap)
        row_sizes = [len(r) for r in grid]
        added = [0] * len(grid)
        tiles = self._tiles(sources, tile, overlap, pad_tile)
        for batch in read_ahead(self._batches(tiles)):
            logits = forward(np.stack([item[3] for item in batch]))
            if blender is None:
                blender = StreamingBlender(height, width, logits.shape[1],
                                           tile, overlap)
            for (index, row, col, _), prediction in zip(batch, logits):
                blender.add(prediction, row, col)
                added[index] += 1
                if added[index] == row_sizes[index]:
                    for top, block in blender.finish_row():
                        valid = np.ones(block.shape[1:], bool)
                        window = (top, 0, block.shape[1], width)
                        for source in mask_sources:
                            valid &= source.valid_mask(window)
                        sink(top, block, valid)
            progress.update(len(batch))
        return total, time.perf_counter() - progress.start

    def _run(self, paths: Sequence[str], out: Optional[str], probs: bool,
             tile: Optional[Tile], overlap: Optional[int],
             align: bool = False, forward: Optional[Callable] = None,
             to_labels: Optional[Callable] = None) -> DenseResult:
        opened: List[RasterSource] = []
        writers: List[GeoTiffWriter] = []
        try:
            for index, path in enumerate(paths):
                opened.append(self.open(
                    path, align_to=opened[0] if align and index else None))
            for other in opened[1:]:
                check_same_grid(opened[0], other)
            # GDAL datasets are used by one thread each: the masks are read
            # from a second handle while the tiles are read ahead.
            masks = [RasterSource(s.path, s.bands,
                                  align_to=opened[0] if align and i else None)
                     for i, s in enumerate(opened)]
            opened.extend(masks)
            sources = opened[:len(paths)]
            result = DenseResult()
            sink, finish = self._make_sink(sources[0], out, probs, writers,
                                           result, to_labels)
            result['tiles'], result['seconds'] = self._predict(
                sources, masks, sink, tile, overlap, forward)
            finish()
            for writer in writers:
                writer.close()
            writers.clear()
            return result
        finally:
            for writer in writers:
                writer.abort()
            for source in opened:
                source.close()

    def _label_tags(self) -> Dict[str, str]:
        classes = self.classes
        return dict(
            classes=','.join(classes),
            **{f'class_{i}': name for i, name in enumerate(classes)},
            nodata_label=str(self.NODATA_LABEL),
            lemevit_config=osp.basename(self.cfg.filename or ''))

    def _make_sink(self, like: RasterSource, out: Optional[str],
                   probs: bool, writers: List[GeoTiffWriter],
                   result: DenseResult,
                   to_labels: Optional[Callable]) -> Tuple[Callable,
                                                          Callable]:
        classes = self.classes
        to_labels = to_labels or self.logits_to_outputs
        if out is None:
            labels = np.empty((like.height, like.width), np.uint8)
            probabilities: Optional[np.ndarray] = None

            def sink(top: int, logits: np.ndarray, valid: np.ndarray
                     ) -> None:
                nonlocal probabilities
                ids, p = to_labels(logits, valid)
                labels[top:top + ids.shape[0]] = ids
                if probs:
                    if probabilities is None:
                        probabilities = np.empty(
                            (p.shape[0], like.height, like.width),
                            np.float32)
                    probabilities[:, top:top + ids.shape[0]] = p

            def finish() -> None:
                result['labels'] = labels
                if probs:
                    result['probs'] = probabilities
            return sink, finish

        palette = self.palette()
        colormap = {i: (*c, 255) for i, c in enumerate(palette)}
        colormap[self.NODATA_LABEL] = (0, 0, 0, 0)
        label_writer = GeoTiffWriter(
            out, like, 1, 'uint8', nodata=self.NODATA_LABEL,
            colormap=colormap, tags=self._label_tags(),
            band_descriptions=['class'])
        writers.append(label_writer)
        result['paths'] = [out]
        probs_writer: List[GeoTiffWriter] = []

        def sink(top: int, logits: np.ndarray, valid: np.ndarray) -> None:
            ids, p = to_labels(logits, valid)
            label_writer.append_rows(ids[None])
            if probs:
                if not probs_writer:
                    path = probs_path(out)
                    dtype = 'float16' if float16_supported() else 'float32'
                    names = classes if len(classes) == p.shape[0] else \
                        [f'class_{i}' for i in range(p.shape[0])]
                    probs_writer.append(GeoTiffWriter(
                        path, like, p.shape[0], dtype, nodata=float('nan'),
                        tags=self._label_tags(), band_descriptions=names))
                    writers.append(probs_writer[0])
                    result['paths'].append(path)
                probs_writer[0].append_rows(p)

        return sink, lambda: None

    def logits_to_outputs(self, logits: np.ndarray, valid: np.ndarray
                          ) -> Tuple[np.ndarray, np.ndarray]:
        """Class ids ``(n, W)`` (255 at nodata) and probabilities
        ``(K, n, W)`` (NaN at nodata) of blended logits."""
        ids = logits.argmax(0).astype(np.uint8)
        ids[~valid] = self.NODATA_LABEL
        shifted = np.exp(logits - logits.max(0, keepdims=True))
        probabilities = shifted / shifted.sum(0, keepdims=True)
        probabilities[:, ~valid] = np.nan
        return ids, probabilities


def probs_path(out: str) -> str:
    """Where ``--probs`` writes the probabilities beside ``out``."""
    stem, ext = osp.splitext(out)
    return f'{stem}_probs{ext or ".tif"}'


class SegmentationInferencer(_DenseInferencer):
    """Semantic segmentation of whole rasters (mmseg models).

    ``inferencer(path, out=None)`` returns the class map (and with
    ``probs=True`` the class probabilities) in memory, or streams them to
    the GeoTIFF ``out`` (and ``<out>_probs.tif``), with the input's CRS,
    transform and size, a colour table and the class names.

    Tiles default to the config's slide-inference crop and stride.
    """

    task = 'seg'

    def __call__(self, path: str, out: Optional[str] = None,
                 probs: bool = False, tile: Optional[Tile] = None,
                 overlap: Optional[int] = None) -> DenseResult:
        return self._run([path], out, probs, tile, overlap)


class ChangeInferencer(_DenseInferencer):
    """Change detection of two co-registered rasters (the Siamese models
    of :mod:`lemevit_mm.cd`): a 0/1 change mask (and the probability of
    change with ``probs=True``).

    The two dates must share size, CRS and transform (an error names what
    differs), unless ``align=True`` resamples date B onto date A's grid.
    """

    task = 'cd'

    @property
    def in_channels(self) -> int:
        return super().in_channels // 2 if self.mean is not None and \
            self.mean.size > 1 else super().in_channels

    @property
    def classes(self) -> Tuple[str, ...]:
        return ('unchanged', 'changed')

    def palette(self) -> List[Tuple[int, int, int]]:
        return [(0, 0, 0), (255, 255, 255)]

    def __call__(self, path_a: str, path_b: str, out: Optional[str] = None,
                 probs: bool = False, tile: Optional[Tile] = None,
                 overlap: Optional[int] = None,
                 align: bool = False) -> DenseResult:
        return self._run([path_a, path_b], out, probs, tile, overlap,
                         align=align, to_labels=self._change_outputs)

    def _change_outputs(self, logits: np.ndarray, valid: np.ndarray
                        ) -> Tuple[np.ndarray, np.ndarray]:
        ids, probabilities = self.logits_to_outputs(logits, valid)
        return ids, probabilities[1:]


# ---------------------------------------------------------------------------
# Oriented object detection
# ---------------------------------------------------------------------------
def rbox_corners(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4, 2)`` corners of rotated boxes ``(cx, cy, w, h, angle in
    radians)``, clockwise in image coordinates."""
    cx, cy, w, h, angle = (boxes[:, i] for i in range(5))
    cos, sin = np.cos(angle), np.sin(angle)
    half = np.stack([np.stack([-w, -h], 1), np.stack([w, -h], 1),
                     np.stack([w, h], 1), np.stack([-w, h], 1)], 1) / 2
    x = cx[:, None] + half[..., 0] * cos[:, None] - half[..., 1] * \
        sin[:, None]
    y = cy[:, None] + half[..., 0] * sin[:, None] + half[..., 1] * \
        cos[:, None]
    return np.stack([x, y], -1)


class DetectionResult(dict):
    """``boxes`` ((N, 5) cx, cy, w, h, angle, pixels of the scene),
    ``scores`` (N,), ``labels`` (N,), ``classes`` (names); ``paths`` when
    written; ``tiles`` and ``seconds``."""


class RotatedDetectionInferencer(SceneInferencer):
    """Oriented object detection on whole scenes (mmrotate models).

    The scene is cut into patches (by default 1024 px with a gap of 200,
    the DOTA split of the configs), the detections of every patch are moved
    to scene coordinates and merged by rotated NMS per class, so an object
    cut by a patch border is found once. Writes a GeoJSON FeatureCollection
    of the boxes as polygons (the raster's CRS; pixel coordinates if it
    has none) and a DOTA-style text file in pixel coordinates.

    Args:
        score_thr (float): Keep detections scoring at least this.
        nms_iou (float): IoU of the merging NMS. Defaults to 0.1, as
            mmrotate merges DOTA patches.
        **kwargs: See :class:`SceneInferencer`.
    """

    task = 'det'
    PATCH = (1024, 1024)
    GAP = 200

    def __init__(self, *args, score_thr: float = 0.3,
                 nms_iou: float = 0.1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.score_thr = score_thr
        self.nms_iou = nms_iou

    @property
    def num_classes(self) -> int:
        head = self.cfg.model.get('roi_head', {}).get('bbox_head', {})
        return int(head.get('num_classes', 0))

    def default_tile(self) -> Tile:
        return self.cfg.get('patch_size', self.PATCH)

    def default_overlap(self, tile: Tile) -> int:
        return int(self.cfg.get('patch_gap', self.GAP))

    def _pad(self, data: np.ndarray, tile: Tile) -> np.ndarray:
        """Pad a border patch with the mean pixel (zero after
        normalisation), as DOTA's split tool does."""
        pad_h, pad_w = tile[0] - data.shape[1], tile[1] - data.shape[2]
        if pad_h == 0 and pad_w == 0:
            return data
        fill = self.mean if self.mean is not None and \
            self.mean.size == data.shape[0] else np.zeros(data.shape[0])
        padded = np.empty((data.shape[0], *tile), np.float32)
        padded[:] = np.asarray(fill, np.float32)[:, None, None]
        padded[:, :data.shape[1], :data.shape[2]] = data
        return padded

    def detect_patches(self, batch: np.ndarray
                       ) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per patch of ``(B, C, h, w)``: ``(boxes (n, 5), scores, labels)``
        in patch pixel coordinates."""
        from mmdet.structures import DetDataSample
        h, w = batch.shape[2:]
        samples = [DetDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
            scale_factor=(1., 1.))) for _ in batch]
        with torch.no_grad(), self._autocast():
            data = self._preprocess(batch, samples)
            results = self.model.predict(data['inputs'],
                                         data['data_samples'])
        outputs = []
        for sample in results:
            pred = sample.pred_instances
            boxes = pred.bboxes
            boxes = getattr(boxes, 'tensor', boxes)
            outputs.append((boxes.float().cpu().numpy(),
                            pred.scores.float().cpu().numpy(),
                            pred.labels.cpu().numpy()))
        return outputs

    def __call__(self, path: str, out: Optional[str] = None,
                 tile: Optional[Tile] = None,
                 overlap: Optional[int] = None) -> DetectionResult:
        tile = self.tile_size(tile)
        overlap = self.default_overlap(tile) if overlap is None else overlap
        with self.open(path) as source:
            total = grid_size(source.height, source.width, tile, overlap)
            progress = Progress(total, osp.basename(path), self.quiet)
            found: List[np.ndarray] = []
            tiles = self._tiles([source], tile, overlap, self._pad)
            for batch in read_ahead(self._batches(tiles)):
                detections = self.detect_patches(
                    np.stack([item[3] for item in batch]))
                for (_, row, col, _), (boxes, scores, labels) in zip(
                        batch, detections):
                    keep = scores >= self.score_thr
                    boxes = boxes[keep].copy()
                    boxes[:, 0] += col
                    boxes[:, 1] += row
                    found.append(np.concatenate(
                        [boxes, scores[keep, None],
                         labels[keep, None].astype(np.float32)], 1))
                progress.update(len(batch))
            detections = np.concatenate(found) if found else \
                np.zeros((0, 7), np.float32)
            inside = (detections[:, 0] >= 0) & \
                (detections[:, 0] < source.width) & \
                (detections[:, 1] >= 0) & (detections[:, 1] < source.height)
            boxes, scores, labels = merge_rotated_detections(
                detections[inside, :5], detections[inside, 5],
                detections[inside, 6].astype(np.int64), self.nms_iou)
            result = DetectionResult(
                boxes=boxes, scores=scores, labels=labels,
                classes=self.classes, tiles=total,
                seconds=time.perf_counter() - progress.start)
            if out is not None:
                result['paths'] = write_detections(result, source, out)
        return result


def merge_rotated_detections(boxes: np.ndarray, scores: np.ndarray,
                             labels: np.ndarray, iou: float
                             ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotated NMS per class (mmcv's ``nms_rotated``) over the detections
    of all patches; sorted by falling score."""
    if len(boxes) == 0:
        return boxes, scores, labels
    from mmcv.ops import batched_nms
    _, keep = batched_nms(
        torch.from_numpy(boxes).float(), torch.from_numpy(scores).float(),
        torch.from_numpy(labels), dict(type='nms_rotated',
                                       iou_threshold=iou))
    keep = keep.numpy()
    return boxes[keep], scores[keep], labels[keep]


def write_detections(result: DetectionResult, source: RasterSource,
                     out: str) -> List[str]:
    """Write ``out`` (GeoJSON) and ``<stem>_dota.txt`` atomically."""
    import json
    from ..engine.fileio import write_atomically
    corners = rbox_corners(result['boxes']) if len(result['boxes']) else \
        np.zeros((0, 4, 2))
    classes = result['classes']
    features = []
    if source.georeferenced:
        corners = pixel_to_map(source.transform, corners)
    for polygon, score, label in zip(corners, result['scores'],
                                     result['labels']):
        ring = [[float(x), float(y)] for x, y in polygon]
        ring.append(ring[0])
        features.append(dict(
            type='Feature',
            geometry=dict(type='Polygon', coordinates=[ring]),
            properties={'class': classes[int(label)] if int(label) < len(
                classes) else str(int(label)), 'score': round(float(score),
                                                              5)}))
    collection: Dict[str, Any] = dict(type='FeatureCollection',
                                      features=features)
    if source.crs is not None:
        epsg = source.crs.to_epsg()
        name = f'urn:ogc:def:crs:EPSG::{epsg}' if epsg else \
            source.crs.to_wkt()
        collection['crs'] = dict(type='name', properties=dict(name=name))
    elif not source.georeferenced:
        collection['coordinates'] = 'pixel'

    def write_geojson(tmp: str) -> None:
        with open(tmp, 'w') as f:
            json.dump(collection, f)

    dota_path = f'{osp.splitext(out)[0]}_dota.txt'

    def write_dota(tmp: str) -> None:
        with open(tmp, 'w') as f:
            for polygon, score, feature in zip(corners, result['scores'],
                                               features):
                coords = ' '.join(f'{v:.1f}' for v in polygon.reshape(-1))
                name = feature['properties']['class']
                f.write(f'{coords} {name} {float(score):.4f}\n')

    write_atomically(out, write_geojson)
    write_atomically(dota_path, write_dota)
    return [out, dota_path]


# ---------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------
class ClassificationInferencer(SceneInferencer):
    """Scene classification (mmpretrain models): the top-k classes of
    whole images, or with ``tile`` a class map of a large raster with one
    pixel per tile (a GeoTIFF whose transform scales the input's by the
    tile size).

    Images are resized and cropped by the config's test pipeline; tiles
    go to the model at the tile size.
    """

    task = 'cls'

    @property
    def num_classes(self) -> int:
        return int(self.cfg.model.get('head', {}).get('num_classes', 0))

    def default_tile(self) -> Tile:
        return (224, 224)

    def default_overlap(self, tile: Tile) -> int:
        return 0

    def _test_pipeline(self):
        from mmengine.dataset import Compose
        return Compose([dict(step) for step in test_pipeline(self.cfg)
                        if 'Load' not in step['type']])

    def scores(self, batch: List[Any]) -> np.ndarray:
        """Class probabilities ``(B, K)`` of packed samples, or of a
        ``(B, C, h, w)`` float array of tiles."""
        with torch.no_grad(), self._autocast():
            if isinstance(batch, np.ndarray):
                data = self._preprocess(batch)
            else:
                data = self.model.data_preprocessor(dict(
                    inputs=[b['inputs'] for b in batch],
                    data_samples=[b['data_samples'] for b in batch]), False)
            logits = self.model(data['inputs'], mode='tensor')
        if isinstance(logits, (list, tuple)):
            logits = logits[-1]
        return torch.softmax(logits.float(), -1).cpu().numpy()

    def __call__(self, paths: Sequence[str], topk: int = 5
                 ) -> List[Dict[str, Any]]:
        """Records ``dict(file, classes=[...], scores=[...])`` (top-k)."""
        pipeline = self._test_pipeline()
        classes = self.classes
        records: List[Dict[str, Any]] = []
        progress = Progress(len(paths), 'images', self.quiet)

        def packed() -> Iterator[Tuple[str, dict]]:
            # the loading step is replaced by the raster reader
            for path in paths:
                with self.open(path) as source:
                    # the pipeline's resize takes the source dtype
                    image = self.to_model_layout(source.read(), path,
                                                 dtype=None)
                image = np.ascontiguousarray(image.transpose(1, 2, 0))
                yield path, pipeline(dict(
                    img=image, img_shape=image.shape[:2],
                    ori_shape=image.shape[:2], img_path=path))

        for batch in read_ahead(self._batches(packed())):
            probabilities = self.scores([item[1] for item in batch])
            for (path, _), p in zip(batch, probabilities):
                order = np.argsort(-p)[:topk]
                records.append(dict(
                    file=path, classes=[classes[i] if i < len(classes)
                                        else str(i) for i in order],
                    scores=[float(p[i]) for i in order]))
            progress.update(len(batch))
        return records

    def class_map(self, path: str, out: Optional[str] = None,
                  tile: Optional[Tile] = None, probs: bool = False
                  ) -> DenseResult:
        """Classify every ``tile`` of a raster; returns (or writes) the
        ``(ceil(H / th), ceil(W / tw))`` class map."""
        tile = self.tile_size(tile)
        with self.open(path) as source:
            rows = -(-source.height // tile[0])
            cols = -(-source.width // tile[1])
            labels = np.empty((rows, cols), np.uint8)
            probabilities = None
            progress = Progress(rows * cols, osp.basename(path), self.quiet)
            for batch in read_ahead(self._batches(self._grid_tiles(
                    source, tile, rows, cols))):
                p = self.scores(np.stack([item[3] for item in batch]))
                if probabilities is None:
                    probabilities = np.empty((p.shape[1], rows, cols),
                                             np.float32)
                for (_, row, col, _), scores in zip(batch, p):
                    r, c = row // tile[0], col // tile[1]
                    labels[r, c] = scores.argmax()
                    probabilities[:, r, c] = scores
                progress.update(len(batch))
            result = DenseResult(labels=labels, tiles=rows * cols,
                                 seconds=time.perf_counter() -
                                 progress.start)
            if probs:
                result['probs'] = probabilities
            if out is not None:
                result['paths'] = self._write_class_map(
                    source, out, labels, probabilities if probs else None,
                    coarsened_transform(source.transform, tile[1], tile[0]),
                    rows, cols)
        return result

    def _grid_tiles(self, source: RasterSource, tile: Tile, rows: int,
                    cols: int) -> Iterator[Tuple[int, int, int, np.ndarray]]:
        for r in range(rows):
            for c in range(cols):
                row, col = r * tile[0], c * tile[1]
                window = (row, col, min(tile[0], source.height - row),
                          min(tile[1], source.width - col))
                data = self.to_model_layout(source.read(window),
                                            source.path)
                yield r, row, col, pad_tile(data, tile)

    def _write_class_map(self, source: RasterSource, out: str,
                         labels: np.ndarray, probabilities, transform,
                         rows: int, cols: int) -> List[str]:
        grid = _Grid(source, transform, rows, cols)
        palette = self.palette()
        tags = dict(classes=','.join(self.classes),
                    **{f'class_{i}': n for i, n in enumerate(self.classes)})
        paths = [out]
        with GeoTiffWriter(out, grid, 1, 'uint8',
                           colormap={i: (*c, 255) for i, c in
                                     enumerate(palette)},
                           tags=tags, band_descriptions=['class']) as w:
            w.write(labels, 0, 0)
        if probabilities is not None:
            paths.append(probs_path(out))
            with GeoTiffWriter(paths[-1], grid, probabilities.shape[0],
                               'float32', tags=tags,
                               band_descriptions=self.classes) as w:
                w.write(probabilities, 0, 0)
        return paths


class _Grid:
    """The georeference of a coarser grid over a raster (for the per-tile
    class map), in the shape :class:`GeoTiffWriter` takes."""

    def __init__(self, source: RasterSource, transform, rows: int,
                 cols: int) -> None:
        self.crs = source.crs
        self.transform = transform
        self.height, self.width = rows, cols
        self.georeferenced = source.georeferenced
