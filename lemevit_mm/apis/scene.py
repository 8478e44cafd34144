"""The scene pipeline's base: what a model is to it (:class:`ModelInfo`
and the :class:`Backend` protocol), the options and the result of one
call (:class:`InferOptions`, :class:`SceneResult`) and the shared base of
the inferencers (:class:`SceneInferencer`: input checks, the pixel layout
the model expects, tiles in batches).

A backend is any object with an ``info`` (:class:`ModelInfo`) and a
``forward`` on numpy batches: :class:`lemevit_mm.apis.loading.TorchModel`
builds one from a config and a checkpoint; :mod:`lemevit_mm.deploy`
provides exported ones. The inferencers see only this seam, so this
module and the task modules built on it import numpy, rasterio and the
package's pure modules alone: no torch, no OpenMMLab.

Pixel values reach the backend as the config's image loader would hand
them to the data preprocessor: a 3-band raster (RGB in the file) in BGR
order for OpenMMLab's ``LoadImageFromFile`` (the preprocessor's
``bgr_to_rgb`` turns it back), in file order for the multi-band and pair
loaders of this project; other band counts keep their band order. The
values themselves are not rescaled: uint8 and uint16 rasters are
normalised by the preprocessor's ``mean`` and ``std``, in the data's own
units.
"""
import contextlib
import dataclasses
import json
from typing import (Any, Callable, ContextManager, Dict, Iterator, List,
                    Mapping, Optional, Sequence, Tuple, Union)

import numpy as np

from ..io.raster import RasterError, RasterSource
from .streaming import batches
from .tiling import tile_grid

try:  # Python >= 3.8
    from typing import Protocol, runtime_checkable
except ImportError:  # pragma: no cover
    from typing_extensions import Protocol, runtime_checkable

__all__ = [
    'Tile', 'ModelInfo', 'Backend', 'is_backend', 'InferOptions',
    'SceneResult', 'SceneInferencer', 'resolve_classes', 'resolve_palette',
    'TASKS'
]

Tile = Tuple[int, int]
# Tasks of the scene pipeline: segmentation, change detection, oriented
# detection, classification.
TASKS = ('seg', 'cd', 'det', 'cls')


# ---------------------------------------------------------------------------
# The model as the scene pipeline sees it
# ---------------------------------------------------------------------------
@dataclasses.dataclass
class ModelInfo:
    """What the scene pipeline needs to know of a model, as plain data
    (:meth:`to_dict` is JSON; an exported model's sidecar holds it).

    Args:
        task (str): ``'seg'``, ``'cd'``, ``'det'`` or ``'cls'``.
        classes (tuple[str]): Class names.
        palette (list[tuple[int, int, int]]): A colour per class.
        in_channels (int): Bands of one input image (one date).
        num_inputs (int): Images per scene: 2 for change detection.
        mean (list[float], optional): The data preprocessor's mean over
            the channels the model takes (both dates for change detection),
            in the model's channel order.
        std (list[float], optional): Its standard deviation.
        bgr_to_rgb (bool): Whether the preprocessor flips 3-channel input.
        channel_order (str): How the config's loader hands a 3-band file
            over: ``'bgr'`` (reversed) or ``'file'``.
        tile (tuple[int, int]): The default tile ``(h, w)``.
        overlap (int, optional): A fixed default overlap (detection: the
            patch gap; classification: 0). None: see
            :meth:`default_overlap`.
        tile_stride (tuple[int, int], optional): The config's
            slide-inference stride.
        size_divisor (int): The model's output stride.
        score_thr (float): Default detection score threshold.
        nms_iou (float): IoU of the NMS that merges patch detections.
        config (str): The config file the model was built from.
        origin (str): What messages call the model (its config file, or
            an exported model's file).
        extra (dict): Anything else (provenance of an exported model).
    """

    task: str
    classes: Tuple[str, ...]
    palette: List[Tuple[int, int, int]]
    in_channels: int
    num_inputs: int = 1
    mean: Optional[List[float]] = None
    std: Optional[List[float]] = None
    bgr_to_rgb: bool = False
    channel_order: str = 'bgr'
    tile: Tile = (512, 512)
    overlap: Optional[int] = None
    tile_stride: Optional[Tile] = None
    size_divisor: int = 32
    score_thr: float = 0.3
    nms_iou: float = 0.1
    config: str = ''
    origin: str = ''
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f'ModelInfo: unknown task {self.task!r}; '
                             f'expected one of {", ".join(TASKS)}.')
        if self.channel_order not in ('bgr', 'file'):
            raise ValueError(f'ModelInfo: channel_order must be \'bgr\' '
                             f"or 'file', got {self.channel_order!r}.")
        self.classes = tuple(str(c) for c in self.classes)
        self.palette = [tuple(int(v) for v in c[:3]) for c in self.palette]
        self.in_channels = int(self.in_channels)
        self.num_inputs = int(self.num_inputs)
        self.tile = (int(self.tile[0]), int(self.tile[1]))
        if self.tile_stride is not None:
            self.tile_stride = (int(self.tile_stride[0]),
                                int(self.tile_stride[1]))
        for name in ('mean', 'std'):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name,
                        [float(v) for v in np.asarray(value).reshape(-1)])
        self.origin = self.origin or self.config

    def default_overlap(self, tile: Tile) -> int:
        """The default overlap of ``tile``: the fixed one, else the tile
        less the slide stride, else a quarter of the tile."""
        if self.overlap is not None:
            return int(self.overlap)
        if self.tile_stride is None:
            return min(tile) // 4
        return max(0, min(tile[0] - self.tile_stride[0],
                          tile[1] - self.tile_stride[1]))

    def to_dict(self) -> Dict[str, Any]:
        """Plain, JSON-serialisable data."""
        data = dataclasses.asdict(self)
        data['classes'] = list(self.classes)
        data['palette'] = [list(c) for c in self.palette]
        data['tile'] = list(self.tile)
        if self.tile_stride is not None:
            data['tile_stride'] = list(self.tile_stride)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'ModelInfo':
        """The inverse of :meth:`to_dict`; unknown keys go to ``extra``."""
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in data.items() if k in names}
        unknown = {k: v for k, v in data.items() if k not in names}
        if unknown:
            known['extra'] = {**dict(known.get('extra') or {}), **unknown}
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.default is dataclasses.MISSING and
                   f.default_factory is dataclasses.MISSING and
                   f.name not in known]
        if missing:
            raise ValueError(f'ModelInfo: missing {", ".join(missing)}.')
        return cls(**known)

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> 'ModelInfo':
        return cls.from_dict(json.loads(text))


@runtime_checkable
class Backend(Protocol):
    """A model for the scene pipeline: its :class:`ModelInfo` and a
    forward pass on numpy batches.

    ``forward(batch)`` takes ``(B, C, h, w)`` float32 tiles in the layout
    of :meth:`SceneInferencer.to_model_layout` (not normalised) and
    returns, by ``info.task``:

    - ``'seg'``, ``'cd'``: logits ``(B, K, h, w)`` float32;
    - ``'cls'``: class probabilities ``(B, K)`` float32; for whole images
      ``batch`` may be a list of ``(C, h, w)`` arrays from ``prepare``;
    - ``'det'``: per patch ``(boxes (n, 5), scores (n,), labels (n,))``,
      boxes ``(cx, cy, w, h, angle)`` in patch pixels, angle in radians.

    Optional methods: ``prepare(image, path)`` (classification of whole
    images: the config's test pipeline, e.g. resize and crop, on a
    ``(C, H, W)`` array of the source dtype) and ``autocast()`` (the
    context the forward passes run in).
    """

    info: ModelInfo

    def forward(self, batch: Any) -> Any:
        ...


def is_backend(obj: Any) -> bool:
    """Whether ``obj`` is a backend (rather than a config)."""
    return hasattr(obj, 'info') and callable(getattr(obj, 'forward', None)) \
        and isinstance(getattr(obj, 'info'), ModelInfo)


# ---------------------------------------------------------------------------
# Options and result of one call
# ---------------------------------------------------------------------------
@dataclasses.dataclass
class InferOptions:
    """The per-call options of :meth:`SceneInferencer.infer`.

    Args:
        tile (tuple[int, int], optional): Tile size (default: the
            model's).
        overlap (int, optional): Tile overlap (default: the model's).
        probs (bool): Also give the class probabilities.
        align (bool): Change detection: resample date B onto date A.
        topk (int): Classification of images: classes per image.
        score_thr (float, optional): Detection: the score threshold
            (default: the inferencer's).
    """

    tile: Optional[Tile] = None
    overlap: Optional[int] = None
    probs: bool = False
    align: bool = False
    topk: int = 5
    score_thr: Optional[float] = None

    def __post_init__(self) -> None:
        if self.tile is not None:
            self.tile = (int(self.tile[0]), int(self.tile[1]))

    @classmethod
    def from_args(cls, args: Any) -> 'InferOptions':
        """The options of a parsed command line (attributes of the same
        names; missing ones keep their defaults)."""
        values = {f.name: getattr(args, f.name) for f in
                  dataclasses.fields(cls) if getattr(args, f.name, None)
                  is not None}
        return cls(**values)

    def replace(self, **changes) -> 'InferOptions':
        return dataclasses.replace(self, **changes)


class SceneResult(dict):
    """What every inferencer's :meth:`~SceneInferencer.infer` returns: a
    dict (``result['paths']`` as before) with attribute access to the
    common entries.

    Keys: ``paths`` (the files written, when written), ``tiles``,
    ``seconds``; dense tasks: ``labels`` (``(H, W)`` uint8, 255 at nodata)
    and ``probs`` (``(K, H, W)``) in memory; detection: ``boxes``,
    ``scores``, ``labels``, ``classes``; classification of images:
    ``records`` (``dict(file, classes, scores)`` each).
    """

    @property
    def paths(self) -> List[str]:
        return list(self.get('paths', []))

    @property
    def tiles(self) -> int:
        return int(self.get('tiles', 0))

    @property
    def seconds(self) -> float:
        return float(self.get('seconds', 0.))


# ---------------------------------------------------------------------------
# Class names and colours of a config
# ---------------------------------------------------------------------------
def _dataset_class(cfg: Mapping, dataset: Mapping):
    """The config's dataset class (in its default scope), if known."""
    try:
        from mmengine.registry import DATASETS
        with DATASETS.switch_scope_and_registry(
                cfg.get('default_scope')) as registry:
            return registry.get(dataset.get('type'))
    except Exception:  # an unknown type: no names from it
        return None


def _test_dataset(cfg: Mapping) -> Mapping:
    return (cfg.get('test_dataloader') or {}).get('dataset', {}) or {}


def resolve_classes(cfg: Mapping, meta: Mapping,
                    num_classes: int) -> Tuple[str, ...]:
    """Class names: the checkpoint's ``dataset_meta``, else the config's
    test set metainfo, else the dataset class's, else ``class_<i>``."""
    names = (meta.get('dataset_meta') or {}).get('classes')
    if names:
        return tuple(names)
    dataset = _test_dataset(cfg)
    names = (dataset.get('metainfo') or {}).get('classes')
    if names:
        return tuple(names)
    names = getattr(_dataset_class(cfg, dataset), 'METAINFO',
                    {}).get('classes')
    if names:
        return tuple(names)
    return tuple(f'class_{i}' for i in range(num_classes))


def resolve_palette(cfg: Mapping, meta: Mapping,
                    classes: Sequence[str]) -> List[Tuple[int, int, int]]:
    """A colour per class: the checkpoint's or the dataset class's
    palette, else a fixed pseudo-random one."""
    palette = (meta.get('dataset_meta') or {}).get('palette')
    if not palette:
        palette = getattr(_dataset_class(cfg, _test_dataset(cfg)),
                          'METAINFO', {}).get('palette')
    if not palette or len(palette) < len(classes):
        rng = np.random.RandomState(42)
        palette = [tuple(int(v) for v in rng.randint(0, 256, 3))
                   for _ in classes]
    return [tuple(int(v) for v in c[:3]) for c in palette[:len(classes)]]


# ---------------------------------------------------------------------------
# The shared base
# ---------------------------------------------------------------------------
class SceneInferencer:
    """Feeds a model tiles of rasters in batches.

    Args:
        model (str | Config | Backend): The model's config (with
            ``checkpoint``), or a backend object (see :class:`Backend`).
        checkpoint (str, optional): Trained weights of a config (None: as
            built).
        device (str): ``'cpu'`` or ``'cuda[:N]'`` (config only). Defaults
            to ``'cpu'``.
        batch_size (int): Tiles per forward pass. Defaults to 4.
        bands (Sequence[int], optional): 1-based bands of the input to use
            (default: all, which must match the model's input channels).
        amp (bool): Autocast (bf16 on CPU, fp16 on CUDA; config only).
            Ignored, with a warning, on a CPU without native bf16 (no
            AVX-512), where bf16 is emulated and many times slower than
            float32 (see :mod:`lemevit_mm.utils.autocast`).
        quiet (bool): No progress bar.
    """

    task = ''
    # images per scene (dates)
    num_inputs = 1
    OUTPUT_EXTENSION = '.tif'

    def __init__(self,
                 model: Any,
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 batch_size: int = 4,
                 bands: Optional[Sequence[int]] = None,
                 amp: bool = False,
                 quiet: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if is_backend(model):
            if model.info.task != self.task:
                raise ValueError(
                    f'{model.info.origin}: a {model.info.task} model, not '
                    f'one for {type(self).__name__} ({self.task}).')
            self.backend = model
        else:
            from .loading import TorchModel
            self.backend = TorchModel(model, checkpoint, device=device,
                                      amp=amp, task=self.task)
        self.info: ModelInfo = self.backend.info
        self.batch_size = batch_size
        self.bands = tuple(bands) if bands else None
        self.quiet = quiet
        self.mean = None if self.info.mean is None else \
            np.asarray(self.info.mean, np.float32)
        self.channel_order = self.info.channel_order

    # -- the PyTorch model of a config (TorchModel backends) ---------------
    def _torch(self, name: str) -> Any:
        if not hasattr(self.backend, name):
            raise AttributeError(
                f'{type(self.backend).__name__} backend of '
                f'{self.info.origin} has no {name!r} (a PyTorch model '
                'built from a config has)')
        return getattr(self.backend, name)

    @property
    def model(self) -> Any:
        """The ``torch.nn.Module`` (config-built models only)."""
        return self._torch('model')

    @property
    def cfg(self) -> Any:
        """The model's config (config-built models only)."""
        return self._torch('cfg')

    @property
    def meta(self) -> dict:
        """The checkpoint's ``meta`` (config-built models only)."""
        return self._torch('meta')

    @property
    def device(self) -> Any:
        """The ``torch.device`` (config-built models only)."""
        return self._torch('device')

    @property
    def amp(self) -> bool:
        """Whether the forward passes autocast."""
        return bool(getattr(self.backend, 'amp', False))

    # -- what the command line asks before building a model ------------------
    @classmethod
    def collects_inputs(cls, options: InferOptions) -> bool:
        """Whether all inputs go into one output (a table) rather than one
        output per scene."""
        return False

    @classmethod
    def output_extension(cls, options: InferOptions) -> str:
        """The extension of an output file named after its input."""
        return cls.OUTPUT_EXTENSION

    @classmethod
    def output_files(cls, out: str, options: InferOptions) -> List[str]:
        """Every file the output ``out`` stands for (with its companions,
        e.g. ``<stem>_probs.tif``)."""
        return [out]

    @classmethod
    def input_count_error(cls, count: int) -> Optional[str]:
        """Why ``count`` inputs per scene do not fit, or None."""
        if count == cls.num_inputs:
            return None
        words = {1: 'one', 2: 'two'}
        return (f'a {cls.task} model takes '
                f'{words.get(cls.num_inputs, cls.num_inputs)} input'
                f'{"s" if cls.num_inputs > 1 else ""}, got '
                f'{words.get(count, count)}')

    # -- the uniform call ----------------------------------------------------
    def infer(self, inputs: Union[str, Sequence[str]],
              out: Optional[str] = None,
              options: Optional[InferOptions] = None,
              **overrides) -> SceneResult:
        """Run one scene (``inputs``: one path per date) or, where
        :meth:`collects_inputs`, a list of images into one output.

        Args:
            inputs: The input file(s).
            out (str, optional): The output file; None keeps the result in
                memory.
            options (InferOptions, optional): Per-call options.
            **overrides: Fields of :class:`InferOptions`.
        """
        options = options or InferOptions()
        if overrides:
            options = options.replace(**overrides)
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        if not self.collects_inputs(options):
            error = self.input_count_error(len(inputs))
            if error:
                raise ValueError(f'{error}: {inputs}')
        return self._infer(inputs, out, options)

    def _infer(self, inputs: List[str], out: Optional[str],
               options: InferOptions) -> SceneResult:
        raise NotImplementedError

    # -- inputs ------------------------------------------------------------
    @property
    def in_channels(self) -> int:
        """Bands of one image the model takes."""
        return self.info.in_channels

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
                f'of {self.info.origin} takes {self.in_channels}{hint}.')
        return source

    def to_model_layout(self, data: np.ndarray, path: str,
                        dtype: Optional[type] = np.float32) -> np.ndarray:
        """A ``(C, h, w)`` read as the config's image loader would hand it
        to the data preprocessor (``ModelInfo.channel_order``), as
        ``dtype`` (None: unchanged), after checking that the values fit
        the preprocessor's normalisation."""
        if data.dtype.itemsize > 1 and data.dtype.kind in 'ui' and \
                self.mean is not None and self.mean.max() < 256 and \
                data.size and data.max() > 255:
            raise RasterError(
                f'{path}: {data.dtype} values up to {int(data.max())}, but '
                f'the data_preprocessor.mean of {self.info.origin} '
                f'({self.mean.round(2).tolist()}) is for 8-bit data: '
                'give the mean/std of this data in its own units.')
        if data.shape[0] == 3 and self.channel_order == 'bgr':
            data = data[::-1]
        return data if dtype is None else data.astype(dtype)

    def _autocast(self) -> ContextManager:
        """The backend's autocast context (nothing for backends without
        one)."""
        autocast = getattr(self.backend, 'autocast', None)
        return autocast() if autocast is not None else \
            contextlib.nullcontext()

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

    def _batches(self, items: Iterator[Any]) -> Iterator[List[Any]]:
        return batches(items, self.batch_size)

    def tile_size(self, tile: Optional[Tile]) -> Tile:
        """The tile size: the given one or the model's default."""
        if tile is None:
            tile = self.default_tile()
        tile = (int(tile[0]), int(tile[1]))
        if min(tile) < 32:
            raise ValueError(f'--tile {tile[0]} {tile[1]}: tiles must be at '
                             'least 32x32 pixels.')
        return tile

    def default_tile(self) -> Tile:
        return self.info.tile

    def default_overlap(self, tile: Tile) -> int:
        return self.info.default_overlap(tile)

    # -- class names and colours -------------------------------------------
    @property
    def classes(self) -> Tuple[str, ...]:
        """Class names (see :func:`resolve_classes`)."""
        return self.info.classes

    @property
    def num_classes(self) -> int:
        return len(self.info.classes)

    def palette(self) -> List[Tuple[int, int, int]]:
        """A colour per class (see :func:`resolve_palette`)."""
        return list(self.info.palette)

    def _label_tags(self) -> Dict[str, str]:
        """GeoTIFF tags naming the classes of a class map."""
        classes = self.classes
        return dict(
            classes=','.join(classes),
            **{f'class_{i}': name for i, name in enumerate(classes)})
