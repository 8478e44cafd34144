"""Scene-scale inference: a trained model of any task applied to whole
rasters, read and written window by window.

The pieces live in one module each: :mod:`.loading` (config, checkpoint,
:func:`task_of`, the PyTorch backend), :mod:`.streaming` (progress,
reading ahead), :mod:`.scene` (the base, :class:`ModelInfo`, options and
result), :mod:`.dense` (segmentation, change detection),
:mod:`.detection` (oriented detection) and :mod:`.classification`. This
module keeps the names of the former single module and picks the
inferencer of a config or backend (:func:`build_inferencer`).

One inferencer per task, all answering ``infer(inputs, out, options)``:

- :class:`SegmentationInferencer`: class map (+ probabilities);
- :class:`ChangeInferencer`: change mask of two co-registered dates;
- :class:`RotatedDetectionInferencer`: rotated boxes of the whole scene,
  merged across patch borders;
- :class:`ClassificationInferencer`: top-k classes of images, or a class
  map of a large scene with one pixel per tile.

Importing this module needs no torch; the names of :mod:`.loading` are
imported when first used.
"""
from typing import Any, Dict, Optional, Type

from .classification import ClassificationInferencer, write_csv
from .dense import (ChangeInferencer, DenseResult, GeoTiffSink, MemorySink,
                    SegmentationInferencer, probs_path)
from .detection import (DetectionResult, RotatedDetectionInferencer,
                        merge_rotated_detections, rbox_corners,
                        write_detections)
from .scene import (TASKS, Backend, InferOptions, ModelInfo,
                    SceneInferencer, SceneResult, is_backend)
from .streaming import Progress, read_ahead

__all__ = [
    'build_model_from_config', 'load_model', 'task_of', 'build_inferencer',
    'inferencer_class', 'SceneInferencer', 'SegmentationInferencer',
    'ChangeInferencer', 'RotatedDetectionInferencer',
    'ClassificationInferencer', 'Progress', 'ModelInfo', 'Backend',
    'InferOptions', 'SceneResult', 'DenseResult', 'DetectionResult',
    'TorchModel', 'probs_path', 'rbox_corners', 'write_csv', 'TASKS',
    'MemorySink', 'GeoTiffSink', 'merge_rotated_detections',
    'write_detections', 'read_ahead', 'is_backend', 'INFERENCERS'
]

INFERENCERS: Dict[str, Type[SceneInferencer]] = dict(
    seg=SegmentationInferencer, cd=ChangeInferencer,
    det=RotatedDetectionInferencer, cls=ClassificationInferencer)

# names of the torch side, imported on first use (PEP 562)
_LOADING = ('build_model_from_config', 'load_model', 'task_of',
            'load_config', 'test_pipeline', 'loader_channel_order',
            'describe_model', 'TorchModel')


def __getattr__(name: str) -> Any:
    if name in _LOADING:
        from . import loading
        return getattr(loading, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def inferencer_class(task: str) -> Type[SceneInferencer]:
    """The inferencer class of a task (``'seg'``, ``'cd'``, ``'det'``,
    ``'cls'``); its class methods answer what a command line asks before
    any model is built."""
    try:
        return INFERENCERS[task]
    except KeyError:
        raise ValueError(f'no scene inference for task {task!r}; expected '
                         f'one of {", ".join(INFERENCERS)}.') from None


def build_inferencer(config: Any, checkpoint: Optional[str] = None,
                     **kwargs) -> SceneInferencer:
    """The inferencer of a config's task (see :func:`task_of`) or of a
    backend's (``backend.info.task``).

    Args:
        config (str | Config | Backend): The model.
        checkpoint (str, optional): Its weights (a config only).
        **kwargs: The inferencer's arguments (``device``, ``batch_size``,
            ``bands``, ``amp``, ``quiet``, ...).
    """
    if is_backend(config):
        return inferencer_class(config.info.task)(config, **kwargs)
    from .loading import load_config, task_of
    cfg = load_config(config)
    return inferencer_class(task_of(cfg))(cfg, checkpoint, **kwargs)
