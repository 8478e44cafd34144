"""Export a trained model to ONNX (standard operators, dynamic batch) with
the sidecar that lets the scene pipeline run it without PyTorch, and check
it with ONNX Runtime.

A config exports its whole model: segmentation (tile -> logits),
change detection (two tiles -> change logits), classification
(image -> logits), oriented detection (Oriented R-CNN, both stages, for
one tile size; the rotated NMS runs after the graph). ``--quantize`` also
writes an INT8 model calibrated on tiles of ``--calibration`` rasters.

A preset or a registered type (``lemevit-t-backbone``, ``lemevit-t``,
``"LeMeViT(arch='small', out_indices=(4,))"``), or a config with
``--backbone``, exports the network alone (no normalisation), outputs
``out0``, ``out1``, ..., dynamic batch and size.

Examples::

    python tools/deployment/export_onnx.py \\
        configs/seg/lemevit_t_upernet_potsdam.py iter_80000.pth \\
        -o upernet.onnx --quantize --calibration data/potsdam/img_dir/val
    python tools/deployment/export_onnx.py \\
        configs/det/lemevit_t_oriented-rcnn_dota.py epoch_12.pth \\
        -o oriented_rcnn.onnx --tile 1024 1024
    python tools/deployment/export_onnx.py lemevit-t-backbone \\
        --checkpoint lemevit_tiny.pth --out lemevit_t.onnx --input-size 256
"""
import argparse
import sys
from typing import Optional, Sequence

from lemevit_mm.analysis.model_specs import input_size_pair
from lemevit_mm.deploy import export as deploy_export


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export to ONNX and check it with onnxruntime.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('Examples::')[1])
    parser.add_argument('model', help='config file, preset or registered '
                        'type with arguments')
    parser.add_argument('checkpoint_file', nargs='?', metavar='CHECKPOINT',
                        help='trained weights')
    parser.add_argument('--checkpoint', default=None,
                        help='the same as CHECKPOINT')
    parser.add_argument('-o', '--out', required=True,
                        help='output .onnx file')
    parser.add_argument('--tile', type=int, nargs=2, metavar=('H', 'W'),
                        help='example size (detection: the fixed input '
                        "size; default the model's tile)")
    parser.add_argument('--check-size', type=int, nargs=2,
                        metavar=('H', 'W'), help='size of the check input '
                        '(dense, classification)')
    parser.add_argument('--backbone', action='store_true',
                        help='a config: export its backbone alone')
    parser.add_argument('--quantize', action='store_true',
                        help='also write <stem>_int8.onnx (static INT8)')
    parser.add_argument('--calibration', nargs='+', metavar='PATH',
                        help='rasters or folders to calibrate on (change '
                        'detection: date A and date B)')
    parser.add_argument('--calibration-tiles', type=int, default=32)
    # the network-only export of model specs
    parser.add_argument('--input-size', type=int, nargs='+', default=[224],
                        help='specs: H [W] of the example input')
    parser.add_argument('--verify-size', type=int, nargs=3, default=None,
                        metavar=('B', 'H', 'W'),
                        help='specs: second input checked with onnxruntime '
                        '(defaults to batch 1 at 1.25x the size)')
    parser.add_argument('--opset', type=int, default=deploy_export.OPSET)
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='specs: largest abs difference onnxruntime vs '
                        'PyTorch accepted (default 1e-4)')
    parser.add_argument('--no-verify', '--no-check', dest='no_verify',
                        action='store_true', help='skip the check')
    args = parser.parse_args(argv)
    if not args.out.endswith('.onnx'):
        parser.error(f'--out must end with .onnx, got {args.out}')
    if args.checkpoint_file and args.checkpoint:
        parser.error('give the checkpoint once (CHECKPOINT or '
                     '--checkpoint)')
    args.checkpoint = args.checkpoint or args.checkpoint_file
    args.whole = args.model.endswith('.py') and not args.backbone
    if args.quantize and not args.whole:
        parser.error('--quantize exports a config\'s whole model')
    if args.quantize and not args.calibration:
        parser.error('--quantize needs --calibration rasters or folders')
    return args


def export_spec(args: argparse.Namespace) -> None:
    height, width = input_size_pair(args.input_size)
    if min(height, width) < 32:
        raise ValueError(f'--input-size must be at least 32, got '
                         f'{height}x{width}.')
    model = deploy_export.build_exportable(args.model, args.checkpoint)
    names = deploy_export.export(model, args.out, (height, width),
                                 opset=args.opset)
    print(f'exported {args.out}: input image (B, 3, H, W) -> '
          f'{", ".join(names)}')
    if args.no_verify:
        return
    second = tuple(args.verify_size) if args.verify_size else \
        (1, height + height // 4, width + width // 4 + 32)
    sizes = [(2, height, width), second]
    for size, error in zip(sizes, deploy_export.verify(
            model, args.out, sizes, atol=args.atol)):
        print(f'onnxruntime vs PyTorch at (B, H, W) = {size}: max abs '
              f'diff {error:.2e}')


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if not args.whole:
        export_spec(args)
        return
    deploy_export.export_model(
        args.model, args.checkpoint, args.out,
        tile=tuple(args.tile) if args.tile else None, opset=args.opset,
        check=not args.no_verify,
        check_tile=tuple(args.check_size) if args.check_size else None)
    if args.quantize:
        from lemevit_mm.deploy.quantize import quantize_model
        quantize_model(args.out, args.calibration,
                       count=args.calibration_tiles)


if __name__ == '__main__':
    sys.exit(main())
