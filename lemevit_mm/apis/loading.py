"""Models from configs and checkpoints: building and loading them
(:func:`load_model`), the task of a config (:func:`task_of`), what the
scene pipeline needs to know of them (:func:`describe_model`) and the
PyTorch backend of the scene pipeline (:class:`TorchModel`).

This is the torch side of :mod:`lemevit_mm.apis`; the scene pipeline
itself (:mod:`.scene` and the task modules) sees a model only through
:class:`~lemevit_mm.apis.scene.ModelInfo` and a numpy ``forward``.
"""
import os.path as osp
import time
from typing import Any, ContextManager, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

from ..utils.autocast import autocast, resolve_amp
from ..utils.checkpoint import strip_module_prefix
from .scene import ModelInfo, resolve_classes, resolve_palette

__all__ = [
    'task_of', 'build_model_from_config', 'load_model', 'load_config',
    'test_pipeline', 'loader_channel_order', 'describe_model', 'TorchModel'
]

# default scope -> task of the scene pipeline
_SCOPES = dict(mmseg='seg', mmrotate='det', mmdet='det', mmpretrain='cls')


def task_of(cfg: Config) -> str:
    """``'seg'``, ``'cd'``, ``'det'`` or ``'cls'`` for a config, from its
    ``default_scope`` and model type (as ``tools/test.py`` builds it).

    The one answer to "which task is this config" in the project (the
    analysis tools ask a different question: which package's data
    structures a model takes).

    Raises:
        ValueError: The scope is none of the known ones.
    """
    scope = cfg.get('default_scope')
    if scope not in _SCOPES:
        raise ValueError(
            f'{cfg.filename}: cannot tell the task from default_scope='
            f"{scope!r}; expected 'mmseg', 'mmrotate' or 'mmpretrain'.")
    model_type = str(cfg.model.get('type', ''))
    if _SCOPES[scope] == 'seg' and 'Siamese' in model_type:
        return 'cd'
    return _SCOPES[scope]


def load_config(config: Union[str, Config]) -> Config:
    """A config file read (or a Config as it is)."""
    if isinstance(config, Config):
        return config
    if not osp.isfile(config):
        raise FileNotFoundError(f'Config {config} does not exist.')
    return Config.fromfile(config)


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
    cfg = load_config(config)
    model = build_model_from_config(cfg)
    meta: dict = {}
    if checkpoint is not None:
        loaded = load_weights(checkpoint)
        state = select_state_dict(loaded, name=checkpoint)
        if isinstance(loaded, dict) and isinstance(loaded.get('meta'), dict):
            meta = loaded['meta']
        state = strip_module_prefix(state)
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


def _vector(value: Any) -> Optional[List[float]]:
    if value is None:
        return None
    if torch.is_tensor(value):
        value = value.detach().flatten().cpu().numpy()
    return np.asarray(value, np.float32).reshape(-1).tolist()


def describe_model(cfg: Config, meta: dict, model: torch.nn.Module,
                   task: Optional[str] = None) -> ModelInfo:
    """The :class:`ModelInfo` of a built model of a config (``task``:
    default :func:`task_of`): class names and colours, normalisation and
    channel order, default tiles from the config's slide inference
    (segmentation, change detection), DOTA patches (detection) or 224 px
    (classification)."""
    task = task or task_of(cfg)
    preprocessor = getattr(model, 'data_preprocessor', None)
    mean = _vector(getattr(preprocessor, 'mean', None))
    std = _vector(getattr(preprocessor, 'std', None))
    bgr_to_rgb = bool(getattr(preprocessor, '_channel_conversion',
                              getattr(preprocessor, 'channel_conversion',
                                      False)))
    model_cfg = cfg.model
    if mean is not None and len(mean) > 1:
        in_channels = len(mean)
    else:
        in_channels = int(model_cfg.get('backbone', {}).get(
            'in_channels', 3))
    extra: dict = {}
    if task == 'cd' and mean is not None and len(mean) > 1:
        in_channels //= 2
    if task == 'det':
        head = model_cfg.get('roi_head', {}).get('bbox_head', {})
        tile = cfg.get('patch_size', (1024, 1024))
        extra = dict(overlap=int(cfg.get('patch_gap', 200)))
    elif task == 'cls':
        head = model_cfg.get('head', {})
        tile, extra = (224, 224), dict(overlap=0)
    else:
        head = model_cfg.get('decode_head') or model_cfg.get('head') or {}
        test_cfg = model_cfg.get('test_cfg') or {}
        tile = test_cfg.get('crop_size') or \
            (cfg.get('crop_size') or (512, 512))
        extra = dict(tile_stride=test_cfg.get('stride'))
    if task == 'cd':
        classes: Tuple[str, ...] = ('unchanged', 'changed')
        palette = [(0, 0, 0), (255, 255, 255)]
    else:
        classes = resolve_classes(cfg, meta,
                                  int(head.get('num_classes', 0)))
        palette = resolve_palette(cfg, meta, classes)
    return ModelInfo(
        task=task, classes=classes, palette=palette,
        in_channels=in_channels, num_inputs=2 if task == 'cd' else 1,
        mean=mean, std=std, bgr_to_rgb=bgr_to_rgb,
        channel_order=loader_channel_order(cfg), tile=tuple(tile),
        config=cfg.filename or '', **extra)


class TorchModel:
    """The PyTorch backend of the scene pipeline: a config's model with
    its checkpoint, its data preprocessor and autocast policy, answering
    :class:`~lemevit_mm.apis.scene.Backend`'s numpy ``forward``.

    Args:
        config (str | Config): The model's config.
        checkpoint (str, optional): Trained weights (None: as built).
        device (str): ``'cpu'`` or ``'cuda[:N]'``. Defaults to ``'cpu'``.
        amp (bool): Autocast where :func:`~lemevit_mm.utils.autocast.
            resolve_amp` allows it.
        task (str, optional): The task to describe the model for
            (default: :func:`task_of` the config).

    Attributes:
        model, cfg, meta: What :func:`load_model` returns.
        info (ModelInfo): What the scene pipeline knows of the model.
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 amp: bool = False,
                 task: Optional[str] = None) -> None:
        self.model, self.cfg, self.meta = load_model(config, checkpoint,
                                                     device)
        self.device = torch.device(device)
        self.amp = resolve_amp(amp, self.device)
        self.info = describe_model(self.cfg, self.meta, self.model, task)
        self._pipeline = None

    def autocast(self) -> ContextManager:
        """The autocast context of the forward passes."""
        return autocast(self.device, self.amp)

    def preprocess(self, batch: np.ndarray,
                   data_samples: Optional[list] = None) -> dict:
        """The data preprocessor on a ``(B, C, h, w)`` array."""
        data = dict(inputs=list(torch.from_numpy(batch)))
        if data_samples is not None:
            data['data_samples'] = data_samples
        return self.model.data_preprocessor(data, False)

    def forward(self, batch: Any) -> Any:
        """The task's output of a batch (see
        :class:`~lemevit_mm.apis.scene.Backend`)."""
        task = self.info.task
        if task in ('seg', 'cd'):
            return self.dense_logits(batch)
        if task == 'det':
            return self.detect(batch)
        return self.probabilities(batch)

    def dense_logits(self, batch: np.ndarray) -> np.ndarray:
        """Per-pixel logits ``(B, K, h, w)`` of a ``(B, C, h, w)`` batch."""
        h, w = batch.shape[2:]
        with torch.no_grad(), self.autocast():
            inputs = self.preprocess(batch)['inputs']
            metas = [dict(img_shape=(h, w), ori_shape=(h, w),
                          pad_shape=(h, w))] * len(batch)
            logits = self.model.encode_decode(inputs, metas)
        return logits.float().cpu().numpy()

    def detect(self, batch: np.ndarray
               ) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per patch of ``(B, C, h, w)``: ``(boxes (n, 5), scores, labels)``
        in patch pixel coordinates."""
        from mmdet.structures import DetDataSample
        h, w = batch.shape[2:]
        samples = [DetDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
            scale_factor=(1., 1.))) for _ in batch]
        with torch.no_grad(), self.autocast():
            data = self.preprocess(batch, samples)
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

    def probabilities(self, batch: Union[np.ndarray, List[np.ndarray]]
                      ) -> np.ndarray:
        """Class probabilities ``(B, K)`` of a ``(B, C, h, w)`` float
        array of tiles, or of a list of prepared images (:meth:`prepare`;
        the preprocessor pads them to one size)."""
        with torch.no_grad(), self.autocast():
            if isinstance(batch, np.ndarray):
                data = self.preprocess(batch)
            else:
                data = self.model.data_preprocessor(dict(
                    inputs=[torch.from_numpy(image) for image in batch]),
                    False)
            logits = self.model(data['inputs'], mode='tensor')
        if isinstance(logits, (list, tuple)):
            logits = logits[-1]
        return torch.softmax(logits.float(), -1).cpu().numpy()

    def prepare(self, image: np.ndarray, path: str) -> np.ndarray:
        """A whole ``(C, H, W)`` image (loader layout, source dtype)
        through the config's test pipeline (resize, crop; the loading step
        is replaced by the raster reader): ``(C, h, w)``."""
        if self._pipeline is None:
            from mmengine.dataset import Compose
            self._pipeline = Compose([
                dict(step) for step in test_pipeline(self.cfg)
                if 'Load' not in step['type']])
        hwc = np.ascontiguousarray(image.transpose(1, 2, 0))
        packed = self._pipeline(dict(img=hwc, img_shape=hwc.shape[:2],
                                     ori_shape=hwc.shape[:2],
                                     img_path=path))
        return packed['inputs'].numpy()
