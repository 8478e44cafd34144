"""INT8 post-training static quantization of an exported model, calibrated
on tiles of real rasters, and its agreement with the float32 model.

ONNX Runtime's ``quantize_static`` (QDQ format: int8 weights per output
channel, uint8 activations) quantizes the convolutions and matrix
products; everything else (normalisation, softmax, the detector's NMS and
RoIAlign) stays float32. The quantized file runs in ONNX Runtime and in
OpenVINO, which executes the QDQ pairs as int8 kernels.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..io.raster import RasterSource
from .parity import map_agreement, match_detections
from .runtimes import OnnxRuntimeModel, _import_runtime
from .sidecar import read_sidecar, sidecar_path, write_sidecar

__all__ = ['quantize_model', 'int8_path', 'agreement']

RASTER_EXTENSIONS = ('.tif', '.tiff', '.png', '.jpg', '.jpeg', '.jp2',
                     '.img', '.vrt')


def int8_path(path: str) -> str:
    """``model.onnx`` -> ``model_int8.onnx``."""
    stem, ext = osp.splitext(path)
    return f'{stem}_int8{ext}'


def _files(path: str) -> List[str]:
    if osp.isdir(path):
        files = sorted(osp.join(path, name) for name in os.listdir(path)
                       if name.lower().endswith(RASTER_EXTENSIONS))
    elif osp.isfile(path):
        files = [path]
    else:
        raise FileNotFoundError(f'Calibration input {path} does not '
                                'exist.')
    if not files:
        raise FileNotFoundError(f'{path}: no rasters to calibrate on.')
    return files


def _read_layout(source: RasterSource, window, info) -> np.ndarray:
    data = source.read(window)
    if data.shape[0] == 3 and info.channel_order == 'bgr':
        data = data[::-1]
    return data.astype(np.float32)


def _tiles(paths: Sequence[str], info, tile: Tuple[int, int],
           count: int) -> List[np.ndarray]:
    dates = [_files(p) for p in paths]
    if info.num_inputs == 2:
        if len(dates) != 2:
            raise ValueError('Change detection calibrates on pairs: give '
                             'date A and date B (files or folders).')
        names_b = {osp.basename(f): f for f in dates[1]}
        groups = [[a, names_b[osp.basename(a)]] for a in dates[0]
                  if osp.basename(a) in names_b] if len(dates[0]) > 1 \
            else [[dates[0][0], dates[1][0]]]
        if not groups:
            raise ValueError(f'{paths[0]} and {paths[1]}: no files of the '
                             'same name in both.')
    else:
        groups = [[f] for files in dates for f in files]
    windows = []
    for group in groups:
        with RasterSource(group[0]) as first:
            height, width = first.height, first.width
        rows = range(0, max(height - tile[0], 0) + 1, tile[0])
        cols = range(0, max(width - tile[1], 0) + 1, tile[1])
        windows.extend((group, r, c) for r in rows for c in cols)
    if len(windows) > count:
        pick = np.linspace(0, len(windows) - 1, count).round().astype(int)
        windows = [windows[i] for i in pick]
    tiles = []
    for group, row, col in windows:
        parts = []
        for path in group:
            with RasterSource(path) as source:
                window = (row, col, min(tile[0], source.height - row),
                          min(tile[1], source.width - col))
                data = _read_layout(source, window, info)
            pad = ((0, 0), (0, tile[0] - data.shape[1]),
                   (0, tile[1] - data.shape[2]))
            parts.append(np.pad(data, pad, mode='symmetric'))
        tiles.append(np.concatenate(parts))
    return tiles


def agreement(fp32: OnnxRuntimeModel, int8: OnnxRuntimeModel,
              tiles: Sequence[np.ndarray], batch: int = 2
              ) -> Dict[str, Any]:
    """The int8 model against the float32 one on ``tiles``: pixel
    agreement and mIoU between the class maps (dense), top-1 agreement
    (classification), detections matched at IoU >= 0.5 (detection)."""
    task = fp32.info.task
    labels_a, labels_b, matched, total = [], [], 0, 0
    for start in range(0, len(tiles), batch):
        part = np.stack(tiles[start:start + batch])
        a, b = fp32.forward(part), int8.forward(part)
        if task == 'det':
            for ref, other in zip(a, b):
                m = match_detections(ref, other, min_iou=0.5,
                                     score_tol=1.)
                matched += m['matched']
                total += max(m['reference'], m['other'])
            continue
        labels_a.append(np.asarray(a).argmax(1).ravel())
        labels_b.append(np.asarray(b).argmax(1).ravel())
    if task == 'det':
        return dict(detections_matched=matched / total if total else 1.,
                    detections=total, tiles=len(tiles))
    a, b = np.concatenate(labels_a), np.concatenate(labels_b)
    num_classes = max(len(fp32.info.classes), int(max(a.max(), b.max())) +
                      1)
    result = map_agreement(a, b, num_classes, ignore=None)
    result['tiles'] = len(tiles)
    return result


def quantize_model(path: str, calibration: Sequence[str],
                   out: Optional[str] = None, count: int = 32,
                   tile: Optional[Tuple[int, int]] = None,
                   log=print) -> Dict[str, Any]:
    """Write the statically quantized ``out`` (default
    ``<stem>_int8.onnx``) of the exported ``path``, calibrated on
    ``count`` tiles of ``calibration``, with its sidecar, and report its
    agreement with the float32 model (on the calibration tiles).

    Returns:
        dict: ``model``, ``agreement``, ``tiles``.
    """
    _import_runtime('onnxruntime', 'onnxruntime')
    from onnxruntime.quantization import (CalibrationDataReader,
                                          CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    out = out or int8_path(path)
    fp32 = OnnxRuntimeModel(path)
    info, deploy = fp32.info, fp32.deploy
    tile = tuple(tile or deploy.get('tile') or info.tile)
    tiles = _tiles(list(calibration), info, tile, count)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter([fp32.feeds(t[None]) for t in tiles])

        def get_next(self):
            return next(self._feeds, None)

    work = tempfile.mkdtemp(prefix='lemevit-quantize-')
    try:
        prepared = osp.join(work, 'prepared.onnx')
        try:
            quant_pre_process(path, prepared, skip_symbolic_shape=False)
        except Exception:  # shape inference of a custom graph may fail
            quant_pre_process(path, prepared, skip_symbolic_shape=True)
        quantized = osp.join(work, 'int8.onnx')
        quantize_static(
            prepared, quantized, Reader(), quant_format=QuantFormat.QDQ,
            op_types_to_quantize=['Conv', 'MatMul', 'Gemm'],
            per_channel=True, activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options=dict(ActivationSymmetric=False,
                               WeightSymmetric=True))
        shutil.move(quantized, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record = read_sidecar(path)
    record_deploy = dict(record['extra']['deploy'])
    for key in ('model_file', 'model_sha256', 'exported_utc', 'format',
                'lemevit_mm_version', 'checkpoint', 'checkpoint_sha256'):
        record_deploy.pop(key, None)
    write_sidecar(out, record, record_deploy)
    int8 = OnnxRuntimeModel(out)
    result = agreement(fp32, int8, tiles)
    record_deploy['quantization'] = dict(
        method='onnxruntime quantize_static (QDQ, int8 weights per '
        'channel, uint8 activations, MinMax calibration)',
        calibration_tiles=len(tiles), tile=list(tile),
        float_model=osp.basename(path),
        agreement_on_calibration_tiles=result)
    provenance = read_sidecar(path)['extra']['deploy']
    record_deploy['checkpoint_sha256'] = provenance.get('checkpoint_sha256')
    write_sidecar(out, record, record_deploy)
    if fp32.info.task == 'det':
        line = (f'{result["detections_matched"]:.2%} of '
                f'{result["detections"]} detections matched (IoU >= 0.5)')
    else:
        line = (f'pixel agreement {result["pixel_agreement"]:.4%}, mIoU '
                f'between the maps {result["miou"]:.4f} over '
                f'{result["pixels"]} pixels') if fp32.info.task != 'cls' \
            else f'top-1 agreement {result["pixel_agreement"]:.2%}'
    log(f'quantized {out} (INT8, {len(tiles)} calibration tiles of '
        f'{tile[0]}x{tile[1]}): against float32 {line}')
    return dict(model=out, agreement=result, tiles=len(tiles))
