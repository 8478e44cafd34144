"""Export a LeMeViT backbone or classifier to ONNX, with dynamic batch and
spatial size, and check it with onnxruntime.

The model is a preset (``lemevit-t-backbone``: the four dense maps;
``lemevit-t``/``-s``/``-b``: the classifier logits), a registered type with
arguments (``"LeMeViT(arch='small', out_indices=(4,))"``) or a config
(classifier configs export their logits, other configs their backbone).
Outputs are named ``out0``, ``out1``, ...; the input is ``image``
(``B x 3 x H x W``, float32). The file is checked with onnxruntime against
PyTorch on the export size and on a second size and batch
(``--verify-size``), which catches sizes frozen into the graph (LeMeViT's
dual cross-attention scale depends on the number of image tokens).

Example::

    python tools/deployment/export_onnx.py lemevit-t-backbone \\
        --checkpoint lemevit_tiny.pth --out lemevit_t.onnx --input-size 256
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
from model_specs import build_model_cfg, input_size_pair  # noqa: E402


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


def export(model: nn.Module, out_file: str, size: Tuple[int, int],
           batch_size: int = 2, opset: int = 18) -> List[str]:
    """Export ``model`` with dynamic batch, height and width.

    Returns:
        list[str]: The output names.
    """
    example = torch.randn(batch_size, 3, *size)
    with torch.no_grad():
        num_outputs = len(model(example))
    output_names = [f'out{i}' for i in range(num_outputs)]
    batch = torch.export.Dim('batch', min=1, max=1024)
    height = torch.export.Dim('height', min=32, max=4096)
    width = torch.export.Dim('width', min=32, max=4096)
    with torch.no_grad():
        torch.onnx.export(
            model, (example, ), out_file, input_names=['image'],
            output_names=output_names, opset_version=opset, dynamo=True,
            dynamic_shapes={'image': {0: batch, 2: height, 3: width}},
            external_data=False)
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
    import onnxruntime
    session = onnxruntime.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
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


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export to ONNX (dynamic batch and size) and check it '
        'with onnxruntime.')
    parser.add_argument('model', help='preset, registered type with '
                        'arguments, or config file')
    parser.add_argument('--checkpoint', default=None,
                        help='weights (authors\' or MMEngine checkpoint)')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--input-size', type=int, nargs='+', default=[224],
                        help='H [W] of the example input. Defaults to 224.')
    parser.add_argument('--verify-size', type=int, nargs=3, default=None,
                        metavar=('B', 'H', 'W'),
                        help='second input checked with onnxruntime '
                        '(defaults to batch 1 at 1.25x the size)')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest abs difference onnxruntime vs '
                        'PyTorch accepted (default 1e-4; float32 rounding '
                        'grows with the outputs\' magnitude)')
    parser.add_argument('--no-verify', action='store_true')
    args = parser.parse_args(argv)
    if not args.out.endswith('.onnx'):
        parser.error(f'--out must end with .onnx, got {args.out}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    height, width = input_size_pair(args.input_size)
    if min(height, width) < 32:
        raise ValueError(f'--input-size must be at least 32, got '
                         f'{height}x{width}.')
    model = build_exportable(args.model, args.checkpoint)
    names = export(model, args.out, (height, width), opset=args.opset)
    print(f'exported {args.out}: input image (B, 3, H, W) -> '
          f'{", ".join(names)}')
    if args.no_verify:
        return
    second = tuple(args.verify_size) if args.verify_size else \
        (1, height + height // 4, width + width // 4 + 32)
    sizes = [(2, height, width), second]
    for size, error in zip(sizes, verify(model, args.out, sizes,
                                         atol=args.atol)):
        print(f'onnxruntime vs PyTorch at (B, H, W) = {size}: max abs '
              f'diff {error:.2e}')


if __name__ == '__main__':
    main()
