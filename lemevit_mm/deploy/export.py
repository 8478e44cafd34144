"""Export a trained model of any task to ONNX: the whole model in
standard operators (opset >= 17), with a dynamic batch, the input
normalisation inside, and a sidecar JSON beside it that lets the scene
pipeline run it without the config (:mod:`.sidecar`).

============== ======================== ================================
task           inputs (float32, raw)    outputs
============== ======================== ================================
seg            image (B, C, H, W)       logits (B, K, H, W)
cd             image_a, image_b         logits (B, 2, H, W)
cls            image (B, C, H, W)       logits (B, K)
det            image (B, C, h, w)       boxes (B, R, 5), scores (B, R, K)
============== ======================== ================================

Segmentation, change detection and classification take any tile size
(a multiple of the model's stride); detection is exported for one tile
size (the DOTA patch by default), its ``R`` second-stage RoIs scored per
class: the rotated NMS per class runs after the graph, in NumPy
(:func:`.postprocess.multiclass_nms_rotated`).

:func:`export_model` also checks the file: ONNX Runtime against PyTorch
on the same input, as max absolute and relative error; for detection the
boxes after the NMS, matched one to one (rotated IoU >= 0.99, scores
within 1e-4) against mmrotate's own test path.

The older backbone/classifier export of model specs (presets, registered
types; :func:`build_exportable`, :func:`export`, :func:`verify`) stays.
"""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from .graphs import (ClassifierGraph, DenseGraph, Normalize,
                     OrientedRCNNGraph)
from .ops import onnx_translations
from .rewrites import folded_blocks
from .sidecar import write_sidecar

__all__ = [
    'TensorOutputs', 'build_exportable', 'export', 'verify',
    'build_graph', 'export_model', 'ExportReport', 'OPSET'
]

OPSET = 18


# ---------------------------------------------------------------------------
# Model specs: a backbone or a classifier, tensors out (no normalisation)
# ---------------------------------------------------------------------------
class TensorOutputs(nn.Module):
    """Turn a backbone or an MMEngine classifier into ``image -> tensors``.

    Args:
        model (nn.Module): A backbone (returns a tuple of tensors) or an
            MMEngine model with a ``'tensor'`` mode.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: Tensor) -> Tuple[Tensor, ...]:
        from mmengine.model import BaseModel
        if isinstance(self.model, BaseModel):
            outs = self.model(image, mode='tensor')
        else:
            outs = self.model(image)
        if isinstance(outs, Tensor):
            return (outs, )
        return tuple(outs)


def build_exportable(spec: str, checkpoint: Optional[str] = None
                     ) -> nn.Module:
    """The model of a spec (a config's classifier or backbone), with
    weights from ``checkpoint`` if given, in eval mode."""
    from mmengine.registry import MODELS
    from mmengine.runner import load_checkpoint

    from ..analysis.model_specs import build_model_cfg
    model_cfg, cfg = build_model_cfg(spec)
    if cfg is not None and cfg.get('default_scope') != 'mmpretrain':
        model_cfg = model_cfg.backbone  # dense configs: the backbone
    model = MODELS.build(model_cfg)
    if checkpoint:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'Checkpoint not found: {checkpoint}')
        if hasattr(model, 'load_pretrained'):
            model.load_pretrained(checkpoint)
        else:
            load_checkpoint(model, checkpoint, map_location='cpu',
                            strict=False)
    return TensorOutputs(model).eval()


def _dims(spatial: bool, inputs: int = 1) -> List[Dict[int, Any]]:
    """The dynamic dimensions of ``inputs`` images that share them."""
    dims: Dict[int, Any] = {0: torch.export.Dim('batch', min=1, max=1024)}
    if spatial:
        dims[2] = torch.export.Dim('height', min=32, max=4096)
        dims[3] = torch.export.Dim('width', min=32, max=4096)
    return [dims] * inputs


def export(model: nn.Module, out_file: str, size: Tuple[int, int],
           batch_size: int = 2, opset: int = OPSET) -> List[str]:
    """Export ``model`` (image -> tensors) with dynamic batch, height and
    width; outputs ``out0``, ``out1``, ...

    Returns:
        list[str]: The output names.
    """
    example = torch.randn(batch_size, 3, *size)
    with torch.no_grad():
        num_outputs = len(model(example))
    output_names = [f'out{i}' for i in range(num_outputs)]
    with torch.no_grad():
        torch.onnx.export(
            model, (example, ), out_file, input_names=['image'],
            output_names=output_names, opset_version=opset, dynamo=True,
            dynamic_shapes={'image': _dims(True)[0]}, external_data=False)
    return output_names


def verify(model: nn.Module, onnx_file: str,
           sizes: Sequence[Tuple[int, int, int]],
           atol: float = 1e-4) -> List[float]:
    """Run the ONNX file with onnxruntime (CPU) on random images of each
    ``(batch, H, W)`` and compare with PyTorch.

    Returns:
        list[float]: The largest absolute difference per size.

    Raises:
        AssertionError: When an output differs by more than ``atol`` or has
            another shape.
    """
    from .runtimes import onnxruntime_session
    session = onnxruntime_session(onnx_file)
    errors = []
    for batch, height, width in sizes:
        image = torch.randn(batch, 3, height, width)
        with torch.no_grad():
            expected = model(image)
        got = session.run(None, {'image': image.numpy()})
        worst = 0.0
        for i, (ref, out) in enumerate(zip(expected, got)):
            if tuple(ref.shape) != out.shape:
                raise AssertionError(
                    f'{onnx_file}: output {i} at input {tuple(image.shape)} '
                    f'has shape {out.shape}, PyTorch {tuple(ref.shape)}.')
            worst = max(worst, float(np.abs(ref.numpy() - out).max()))
        if worst > atol:
            raise AssertionError(
                f'{onnx_file}: onnxruntime differs from PyTorch by {worst:.2e}'
                f' (> {atol:.0e}) at input {tuple(image.shape)}.')
        errors.append(worst)
    return errors


# ---------------------------------------------------------------------------
# Whole models of a config
# ---------------------------------------------------------------------------
def build_graph(torch_model, tile: Optional[Tuple[int, int]] = None
                ) -> Tuple[nn.Module, Dict[str, Any]]:
    """The exportable graph of a :class:`~lemevit_mm.apis.loading.
    TorchModel` and the sidecar's deploy record (inputs, outputs, what
    runs after the graph).

    Args:
        torch_model (TorchModel): The model with its info.
        tile (tuple[int, int], optional): Detection: the input size
            (default: the model's patch).
    """
    info = torch_model.info
    model = torch_model.model.float().eval()
    normalize = Normalize(info.mean, info.std, info.bgr_to_rgb,
                          info.in_channels)
    deploy: Dict[str, Any] = dict(
        inputs=['image'], outputs=['logits'], dynamic_size=True,
        channels=info.in_channels, normalization='in the graph')
    if info.task in ('seg', 'cd'):
        graph = DenseGraph(model, normalize, info.num_inputs)
        if info.num_inputs == 2:
            deploy['inputs'] = ['image_a', 'image_b']
        if _has_adaptive_pooling(model):
            # UperNet's pyramid pooling: the pooling windows of a
            # non-global adaptive pool are fixed by the traced size
            tile = tuple(tile or info.tile)
            deploy.update(dynamic_size=False, tile=list(tile))
    elif info.task == 'cls':
        graph = ClassifierGraph(model, normalize)
    else:
        tile = tuple(tile or info.tile)
        if tile[0] % info.size_divisor or tile[1] % info.size_divisor:
            raise ValueError(
                f'Detection tile {tile[0]}x{tile[1]}: export a multiple of '
                f'{info.size_divisor} (the model pads to it).')
        graph = OrientedRCNNGraph(model, normalize, tile)
        rcnn = graph.rcnn_cfg
        deploy.update(
            outputs=['boxes', 'scores'], dynamic_size=False,
            tile=list(tile), rois=graph.num_proposals,
            postprocess=dict(
                kind='multiclass_nms_rotated', runs='numpy',
                score_thr=float(rcnn.score_thr),
                iou_threshold=float(rcnn.nms.iou_threshold),
                max_per_img=int(rcnn.max_per_img)))
    return graph.eval(), deploy


def _has_adaptive_pooling(model: nn.Module) -> bool:
    """Whether ``model`` pools to a fixed size larger than 1 (its ONNX
    graph then holds for the traced input size only)."""
    for module in model.modules():
        if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            size = module.output_size
            sizes = size if isinstance(size, (tuple, list)) else (size, )
            if any(s not in (1, None) for s in sizes):
                return True
    return False


def example_inputs(info, deploy: Dict[str, Any], batch: int,
                   tile: Tuple[int, int], seed: int = 0
                   ) -> Tuple[np.ndarray, ...]:
    """Random raw inputs of the graph: values in the data's range
    (0-255, or mean +- 3 std for other statistics)."""
    rng = np.random.RandomState(seed)
    channels = info.in_channels
    if info.mean is not None and max(info.mean) > 255:
        mean = np.asarray(info.mean[:channels], np.float32)
        std = np.asarray(info.std[:channels], np.float32)
        low, high = np.maximum(mean - 3 * std, 0), mean + 3 * std
    else:
        low, high = np.zeros(channels), np.full(channels, 255.)
    shape = (batch, channels, *tile)
    return tuple(
        (rng.uniform(size=shape) * (high - low)[:, None, None] +
         low[:, None, None]).astype(np.float32)
        for _ in deploy['inputs'])


class ExportReport(dict):
    """What :func:`export_model` did: ``model``, ``sidecar``, ``check``
    (the comparison), ``lines`` (printed)."""


def export_model(config: str, checkpoint: Optional[str], out: str,
                 tile: Optional[Tuple[int, int]] = None,
                 opset: int = OPSET, check: bool = True,
                 check_batch: int = 2,
                 check_tile: Optional[Tuple[int, int]] = None,
                 fold: bool = True, log=print) -> ExportReport:
    """Export the model of ``config`` with ``checkpoint`` to ``out``
    (ONNX) with its sidecar, and check it with ONNX Runtime.

    Args:
        config (str): The model's config.
        checkpoint (str, optional): Its weights (None: as initialised).
        out (str): The ``.onnx`` file.
        tile (tuple[int, int], optional): The example size (detection:
            the fixed input size; default the model's tile).
        opset (int): ONNX opset (>= 17). Defaults to 18.
        check (bool): Compare ONNX Runtime with PyTorch.
        check_batch (int): Images of the check. Defaults to 2.
        check_tile (tuple[int, int], optional): Size of the check's input
            (dense and classification; default: the example size).
        fold (bool): Export LeMeViT's blocks as the CPU fast path computes
            them (:func:`.rewrites.folded_blocks`). Defaults to True.
        log (callable): Where the lines of the report go.
    """
    from ..apis.loading import TorchModel
    if opset < 17:
        raise ValueError(f'opset {opset}: export needs opset >= 17.')
    if not out.endswith('.onnx'):
        raise ValueError(f'{out}: the output must end with .onnx.')
    torch_model = TorchModel(config, checkpoint)
    info = torch_model.info
    graph, deploy = build_graph(torch_model, tile)
    size = tuple(deploy.get('tile') or tile or info.tile)
    if info.task == 'cls' and tile is None:
        size = (224, 224)
    deploy.update(opset=opset, folded_blocks=fold)
    examples = example_inputs(info, deploy, 2, size)
    dynamic = deploy['dynamic_size']
    shapes = _dims(dynamic, len(deploy['inputs']))
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{osp.basename(out)}.{os.getpid()}.tmp.onnx')
    try:
        with torch.no_grad(), folded_blocks(graph, fold):
            torch.onnx.export(
                graph, tuple(torch.from_numpy(x) for x in examples), tmp,
                input_names=deploy['inputs'],
                output_names=deploy['outputs'], opset_version=opset,
                dynamo=True, dynamic_shapes=tuple(shapes),
                custom_translation_table=onnx_translations(),
                external_data=False, verbose=False)
        os.replace(tmp, out)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    info_dict = info.to_dict()
    info_dict['config'] = osp.basename(info.config or config)
    if not dynamic:
        info_dict['tile'] = list(size)  # the only size the graph takes
    sidecar = write_sidecar(out, info_dict, deploy, checkpoint)
    report = ExportReport(model=out, sidecar=sidecar, lines=[])

    def say(line: str) -> None:
        report['lines'].append(line)
        log(line)

    inputs = ', '.join(f'{n} (B, {info.in_channels}, '
                       f'{"H, W" if dynamic else "%d, %d" % size})'
                       for n in deploy['inputs'])
    say(f'exported {out} ({info.task}, opset {opset}): {inputs} -> '
        f'{", ".join(deploy["outputs"])}; sidecar {sidecar}')
    if check:
        from .check import check_export
        report['check'] = check_export(torch_model, graph, out, deploy,
                                       check_batch, size, say)
        if dynamic:  # sizes frozen into the graph show at another size
            second = tuple(check_tile) if check_tile else \
                (size[0] + 32, size[1] + 64)
            report['check_second_size'] = check_export(
                torch_model, graph, out, deploy, 1, second, say)
    return report
