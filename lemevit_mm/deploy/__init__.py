"""Deployment: whole models exported to ONNX (standard operators only)
and run by ONNX Runtime or OpenVINO through the same scene pipeline
(tiling, blending, nodata, georeference, outputs) as the PyTorch models.

What runs where:

- in the graph: the input normalisation, the whole network; for oriented
  detection both stages of Oriented R-CNN, the RPN's horizontal NMS
  (ONNX ``NonMaxSuppression``) and the rotated RoIAlign (an affine
  sampling grid and ``GridSample``, :mod:`.roi_align`);
- after the graph, in NumPy: the softmax of classifier logits, the
  rotated NMS per class of detections (:mod:`.postprocess`), and the
  whole scene pipeline of :mod:`lemevit_mm.apis`.

This package imports without torch: :func:`load_exported` and
``python -m lemevit_mm.deploy MODEL.onnx INPUT -o OUT`` need only numpy,
rasterio and the runtime. Exporting (:mod:`.export`, the ``tools/
deployment/export_onnx.py`` command) and quantizing (:mod:`.quantize`)
need the training environment.
"""
from .runtimes import (BACKENDS, ExportedModel, OnnxRuntimeModel,
                       OpenVinoModel, RuntimeMissing, load_exported)
from .sidecar import SidecarError, read_sidecar, sidecar_path

__all__ = [
    'BACKENDS', 'ExportedModel', 'OnnxRuntimeModel', 'OpenVinoModel',
    'RuntimeMissing', 'load_exported', 'SidecarError', 'read_sidecar',
    'sidecar_path'
]
