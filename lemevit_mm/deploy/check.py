"""The check after an export: the exported file in ONNX Runtime against
the PyTorch backend of the scene pipeline, on the same raw input."""
from typing import Any, Callable, Dict, Tuple

import numpy as np

from .parity import errors, match_detections

__all__ = ['check_export']


def check_export(torch_model, graph, path: str, deploy: Dict[str, Any],
                 batch: int, size: Tuple[int, int],
                 say: Callable[[str], None] = print,
                 seed: int = 1, min_matched: float = 0.97
                 ) -> Dict[str, Any]:
    """Run ``path`` with ONNX Runtime and ``torch_model`` (a
    :class:`~lemevit_mm.apis.loading.TorchModel`) on random raw tiles and
    report (through ``say``) and return the differences.

    Dense and classification: max absolute and relative error of the
    logits (probabilities for classification); detection: the detections
    after the NMS matched one to one (rotated IoU >= 0.99, scores within
    1e-4).

    Detections can only agree up to near ties: proposals whose scores
    differ by float32 rounding (thousands of them per tile) may swap
    places at the ``nms_pre`` and ``max_per_img`` cuts and in the RPN's
    NMS, and so change a few boxes. The check asks that at least
    ``min_matched`` of the detections match one to one.

    Raises:
        AssertionError: The outputs differ beyond float32 rounding (dense
            relative error > 1e-3) or fewer detections than
            ``min_matched`` match.
    """
    from .export import example_inputs
    from .runtimes import OnnxRuntimeModel
    info = torch_model.info
    inputs = example_inputs(info, deploy, batch, size, seed)
    stacked = np.concatenate(inputs, 1)
    exported = OnnxRuntimeModel(path)
    expected = torch_model.forward(stacked)
    got = exported.forward(stacked)
    result: Dict[str, Any] = dict(batch=batch, size=list(size))
    where = f'(B, H, W) = ({batch}, {size[0]}, {size[1]})'
    if info.task != 'det':
        name = 'probabilities' if info.task == 'cls' else 'logits'
        worst, relative = errors(expected, got)
        result.update(max_abs=worst, max_rel=relative)
        say(f'onnxruntime vs PyTorch at {where}: {name} max abs error '
            f'{worst:.2e}, max rel error {relative:.2e}')
        if relative > 1e-3:
            raise AssertionError(
                f'{path}: onnxruntime differs from PyTorch by {worst:.2e} '
                f'(relative {relative:.2e}) at {where}.')
        return result
    matches = [match_detections(a, b) for a, b in zip(expected, got)]
    raw = exported.run(exported.feeds(stacked))
    total = sum(max(m['reference'], m['other']) for m in matches)
    result.update(
        matched_fraction=sum(m['matched'] for m in matches) / total
        if total else 1.,
        detections=[m['reference'] for m in matches],
        matched=[m['matched'] for m in matches],
        min_iou=min(m['min_iou'] if m['matched'] else 1. for m in matches),
        max_score_diff=max(m['max_score_diff'] for m in matches),
        rois=int(raw[0].shape[1]))
    say(f'onnxruntime + NumPy NMS vs PyTorch at {where}: '
        f'{sum(result["matched"])} of {sum(result["detections"])} '
        f'detections ({result["matched_fraction"]:.2%}) matched one to '
        f'one (rotated IoU >= 0.99, min {result["min_iou"]:.4f}; scores '
        f'within 1e-4, max diff '
        f'{result["max_score_diff"]:.2e}); ONNX Runtime gave '
        f'{sum(m["other"] for m in matches)}')
    if result['matched_fraction'] < min_matched:
        raise AssertionError(
            f'{path}: detections differ from PyTorch at {where}: '
            + '; '.join(f'image {i}: {m["matched"]} matched of '
                        f'{m["reference"]} (PyTorch) and {m["other"]} '
                        '(onnxruntime)' for i, m in enumerate(matches)))
    return result
