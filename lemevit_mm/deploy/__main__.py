"""Scene inference with an exported model, without PyTorch.

::

    python -m lemevit_mm.deploy model.onnx scene.tif -o classes.tif
    python -m lemevit_mm.deploy cd.onnx date_a.tif date_b.tif -o change.tif
    python -m lemevit_mm.deploy det.onnx scene.tif -o boxes.geojson \\
        --backend openvino

The model's sidecar (``model.json`` beside ``model.onnx``, written by
``tools/deployment/export_onnx.py``) says the task, the classes and how
to feed the model; the scene pipeline (tiling, blending, nodata,
georeference, outputs) is the one of ``tools/infer.py``. Needs numpy,
rasterio and ONNX Runtime or OpenVINO (``pip install -e .[deploy]``).
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

from .runtimes import BACKENDS, RuntimeMissing, load_exported
from .sidecar import SidecarError


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='python -m lemevit_mm.deploy',
        description='Scene inference with an exported (ONNX / OpenVINO) '
        'model: class maps, change masks, rotated boxes, tile classes.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('::')[1].split('The model')[0])
    parser.add_argument('model', help='exported model (.onnx or .xml) with '
                        'its sidecar .json beside it')
    parser.add_argument('inputs', nargs='+',
                        help='raster(s): one, two dates for change '
                        'detection, or images for a classification CSV')
    parser.add_argument('-o', '--out', required=True, help='output file')
    parser.add_argument('--backend', choices=sorted(BACKENDS),
                        default='onnxruntime')
    parser.add_argument('--tile', nargs=2, type=int, metavar=('H', 'W'),
                        help="tile size (default: the model's)")
    parser.add_argument('--overlap', type=int, help='tile overlap')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--bands', nargs='+', type=int,
                        help='1-based bands to use, in model order')
    parser.add_argument('--probs', action='store_true',
                        help='also write class probabilities')
    parser.add_argument('--score-thr', type=float,
                        help="detection score threshold (default: the "
                        "model's)")
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument('--align', action='store_true',
                        help="resample date B onto date A's grid")
    parser.add_argument('--threads', type=int,
                        help="runtime threads (default: the runtime's)")
    parser.add_argument('--overwrite', action='store_true')
    parser.add_argument('--quiet', action='store_true')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from ..apis.inference import build_inferencer
    from ..apis.scene import InferOptions
    from ..io.raster import RasterError
    try:
        backend = load_exported(args.model, args.backend, args.threads)
        if osp.exists(args.out) and not args.overwrite:
            raise ValueError(f'{args.out} exists (--overwrite replaces '
                             'it).')
        inferencer = build_inferencer(
            backend, batch_size=args.batch_size, bands=args.bands,
            quiet=args.quiet)
        options = InferOptions(
            tile=tuple(args.tile) if args.tile else None,
            overlap=args.overlap, probs=args.probs, align=args.align,
            topk=args.topk, score_thr=args.score_thr)
        result = inferencer.infer(list(args.inputs), args.out, options)
    except (RuntimeMissing, SidecarError, RasterError, FileNotFoundError,
            ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    for path in result.get('paths') or []:
        print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
