"""Exported models as backends of the scene pipeline (the
:class:`~lemevit_mm.apis.scene.Backend` seam): ONNX Runtime and OpenVINO
run the graph, NumPy the rest (softmax of classifier logits, the rotated
NMS of detections).

Only numpy and the runtime are imported: no torch, no OpenMMLab. A
runtime that is not installed gets an error naming the extra that brings
it (``pip install -e .[deploy]``).
"""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..apis.scene import ModelInfo
from .postprocess import multiclass_nms_rotated
from .sidecar import read_sidecar

__all__ = [
    'BACKENDS', 'RuntimeMissing', 'ExportedModel', 'OnnxRuntimeModel',
    'OpenVinoModel', 'load_exported', 'onnxruntime_session'
]

EXTRA_HINT = 'pip install -e .[deploy]'


class RuntimeMissing(ImportError):
    """The runtime a backend needs is not installed."""


def _import_runtime(name: str, package: str):
    try:
        return __import__(name)
    except ImportError as error:
        raise RuntimeMissing(
            f'The {package} backend needs the package {package!r}, which '
            f'does not import here ({error}); install the deploy extra: '
            f'{EXTRA_HINT}') from None


def onnxruntime_session(path: str, threads: Optional[int] = None):
    """An ONNX Runtime CPU session of ``path`` (all graph optimisations;
    ``threads`` intra-op threads, default: the runtime's)."""
    ort = _import_runtime('onnxruntime', 'onnxruntime')
    options = ort.SessionOptions()
    options.graph_optimization_level = \
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = int(threads)
    return ort.InferenceSession(path, options,
                                providers=['CPUExecutionProvider'])


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


class ExportedModel:
    """An exported model and its sidecar as a scene-pipeline backend.

    Args:
        path (str): The ``.onnx`` (or OpenVINO ``.xml``) file; its sidecar
            ``.json`` beside it.
        threads (int, optional): Threads of the runtime.

    Attributes:
        info (ModelInfo): From the sidecar.
        deploy (dict): The sidecar's deploy record.
    """

    name = ''

    def __init__(self, path: str, threads: Optional[int] = None) -> None:
        if not osp.isfile(path):
            raise FileNotFoundError(f'Exported model {path} does not exist.')
        self.path = path
        record = read_sidecar(path)
        self.info = ModelInfo.from_dict(record)
        self.info.origin = path
        self.deploy: Dict[str, Any] = self.info.extra['deploy']
        self.input_names: List[str] = list(self.deploy['inputs'])
        self._load(path, threads)

    def _load(self, path: str, threads: Optional[int]) -> None:
        raise NotImplementedError

    def run(self, feeds: Dict[str, np.ndarray]) -> List[np.ndarray]:
        """The graph's outputs for named inputs."""
        raise NotImplementedError

    def feeds(self, batch: np.ndarray) -> Dict[str, np.ndarray]:
        """The graph's inputs of a ``(B, C, h, w)`` batch (change
        detection: both dates stacked on the channel axis)."""
        batch = np.ascontiguousarray(batch, np.float32)
        channels = self.info.in_channels
        expected = channels * len(self.input_names)
        if batch.ndim != 4 or batch.shape[1] != expected:
            raise ValueError(
                f'{self.path}: expects (B, {expected}, h, w) tiles, got '
                f'{batch.shape}.')
        tile = self.deploy.get('tile')
        if not self.deploy.get('dynamic_size', True) and \
                tuple(batch.shape[2:]) != tuple(tile):
            raise ValueError(
                f'{self.path} was exported for {tile[0]}x{tile[1]} tiles, '
                f'got {batch.shape[2]}x{batch.shape[3]}: use --tile '
                f'{tile[0]} {tile[1]} or export again with --tile.')
        return {name: np.ascontiguousarray(
            batch[:, i * channels:(i + 1) * channels])
            for i, name in enumerate(self.input_names)}

    #: The batch size a graph was frozen to (None: dynamic).
    fixed_batch: Optional[int] = None

    def _run_batch(self, batch: np.ndarray) -> List[np.ndarray]:
        """The graph's outputs; a graph of a fixed batch size gets its
        batches in chunks of that size (the last one padded)."""
        size = self.fixed_batch
        if not size or len(batch) == size:
            return self.run(self.feeds(batch))
        parts = []
        for start in range(0, len(batch), size):
            chunk = batch[start:start + size]
            count = len(chunk)
            if count < size:
                chunk = np.concatenate(
                    [chunk, np.repeat(chunk[-1:], size - count, 0)])
            parts.append([out[:count] for out in self.run(self.feeds(
                chunk))])
        return [np.concatenate(outs) for outs in zip(*parts)]

    def forward(self, batch: Any) -> Any:
        """The task's output (see :class:`~lemevit_mm.apis.scene.
        Backend`)."""
        if isinstance(batch, (list, tuple)):
            return np.concatenate([self.forward(image[None])
                                   for image in batch])
        outputs = self._run_batch(batch)
        task = self.info.task
        if task in ('seg', 'cd'):
            return outputs[0]
        if task == 'cls':
            return _softmax(outputs[0].astype(np.float32))
        post = self.deploy['postprocess']
        boxes, scores = outputs[:2]
        return [multiclass_nms_rotated(b, s, post['score_thr'],
                                       post['iou_threshold'],
                                       post['max_per_img'])
                for b, s in zip(boxes, scores)]

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.path!r})'


class OnnxRuntimeModel(ExportedModel):
    """ONNX Runtime (CPU) backend."""

    name = 'onnxruntime'

    def _load(self, path: str, threads: Optional[int]) -> None:
        self.session = onnxruntime_session(path, threads)
        self.output_names = [o.name for o in self.session.get_outputs()]
        first = self.session.get_inputs()[0].shape[0]
        self.fixed_batch = first if isinstance(first, int) else None

    def run(self, feeds: Dict[str, np.ndarray]) -> List[np.ndarray]:
        return self.session.run(self.output_names, feeds)


class OpenVinoModel(ExportedModel):
    """OpenVINO (CPU) backend: reads the ONNX file (or an OpenVINO IR
    ``.xml``) and compiles it for the CPU."""

    name = 'openvino'

    def _load(self, path: str, threads: Optional[int]) -> None:
        ov = _import_runtime('openvino', 'openvino')
        core = ov.Core()
        config = {}
        if threads:
            config['INFERENCE_NUM_THREADS'] = int(threads)
        # fp32 inference: no silent bf16 on CPUs that have it
        config['INFERENCE_PRECISION_HINT'] = 'f32'
        self.compiled = core.compile_model(core.read_model(path), 'CPU',
                                           config)
        self.request = self.compiled.create_infer_request()
        self.output_names = [o.get_any_name()
                             for o in self.compiled.outputs]
        first = self.compiled.inputs[0].get_partial_shape()[0]
        self.fixed_batch = first.get_length() if first.is_static else None

    def run(self, feeds: Dict[str, np.ndarray]) -> List[np.ndarray]:
        results = self.request.infer(feeds)
        return [np.asarray(results[output])
                for output in self.compiled.outputs]


BACKENDS = {'onnxruntime': OnnxRuntimeModel, 'openvino': OpenVinoModel}


def load_exported(path: str, backend: str = 'onnxruntime',
                  threads: Optional[int] = None) -> ExportedModel:
    """The backend ``backend`` (``'onnxruntime'`` or ``'openvino'``) of
    the exported model ``path``."""
    if backend not in BACKENDS:
        raise ValueError(f'Unknown backend {backend!r}; choose one of '
                         f'{", ".join(BACKENDS)}.')
    return BACKENDS[backend](path, threads)
