"""Apply a trained model to whole rasters: class maps, change masks and
rotated boxes with the input's georeference.

Examples::

    # segmentation: class-id GeoTIFF (+ probabilities)
    python tools/infer.py configs/seg/lemevit_t_upernet_potsdam.py \
        iter_80000.pth scene.tif -o scene_classes.tif --probs
    # change detection of two co-registered dates
    python tools/infer.py configs/cd/lemevit_t_bit_cdd.py best.pth \
        date_a.tif date_b.tif -o change.tif
    # oriented detection: GeoJSON polygons + DOTA text
    python tools/infer.py configs/det/lemevit_t_oriented-rcnn_dota.py \
        epoch_12.pth scene.tif -o boxes.geojson --score-thr 0.3
    # classification: a CSV of top-k classes, or a per-tile class map
    python tools/infer.py configs/cls/lemevit_t_millionaid.py cls.pth \
        images/ -o classes.csv
    python tools/infer.py configs/cls/lemevit_t_millionaid.py cls.pth \
        scene.tif -o tile_classes.tif --tile 256 256

INPUT (and INPUT_B) is a raster file, a folder or a glob; with several
inputs ``-o`` is a folder that gets one output per input (same stem).
Outputs are written under a temporary name and renamed when complete;
an existing output is refused unless ``--overwrite``.
"""
import argparse
import csv
import glob
import os
import os.path as osp
import signal
import sys
import threading
from typing import List, Optional, Sequence

from mmengine.config import Config, DictAction

import lemevit_mm  # noqa: F401  (registers models, weights-only loading)
from lemevit_mm.apis import build_inferencer, merge_cfg_options, task_of
from lemevit_mm.apis.inference import probs_path
from lemevit_mm.engine.fileio import write_atomically
from lemevit_mm.raster import RasterError

RASTER_EXTENSIONS = ('.tif', '.tiff', '.png', '.jpg', '.jpeg', '.jp2',
                     '.img', '.vrt', '.bmp')
OUTPUT_EXTENSIONS = dict(seg='.tif', cd='.tif', det='.geojson', cls='.tif')


class InputError(ValueError):
    """A problem with the command line's inputs or outputs."""


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Scene-scale inference on rasters (any task).',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('Examples::')[1])
    parser.add_argument('config', help='the model config')
    parser.add_argument('checkpoint', help='trained weights')
    parser.add_argument('input', help='raster file, folder or glob')
    parser.add_argument('input_b', nargs='?',
                        help='second date (change detection)')
    parser.add_argument('-o', '--out', required=True,
                        help='output file (one input) or folder')
    parser.add_argument('--tile', nargs=2, type=int, metavar=('H', 'W'),
                        help='tile size (default: the config\'s crop / '
                        'patch size)')
    parser.add_argument('--overlap', type=int,
                        help='tile overlap in pixels (default: from the '
                        'config\'s stride / patch gap)')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--device', default='cpu',
                        help="'cpu' or 'cuda[:N]'")
    parser.add_argument('--bands', nargs='+', type=int,
                        help='1-based bands to use, in model order')
    parser.add_argument('--probs', action='store_true',
                        help='also write class probabilities')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detection score threshold')
    parser.add_argument('--topk', type=int, default=5,
                        help='classes per image in the CSV')
    parser.add_argument('--align', action='store_true',
                        help='resample date B onto date A\'s grid')
    parser.add_argument('--amp', action='store_true',
                        help='autocast: fp16 on CUDA, bf16 on a CPU with '
                        'native bf16 (AVX-512; elsewhere float32)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing outputs')
    parser.add_argument('--quiet', action='store_true',
                        help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries')
    return parser.parse_args(argv)


def is_collection(pattern: str) -> bool:
    """Whether an input names several files (a folder or a glob): its
    outputs then go into the folder ``-o``."""
    return osp.isdir(pattern) or any(c in pattern for c in '*?[')


def expand_inputs(pattern: str) -> List[str]:
    """Files of a path, folder or glob, sorted; an error if none."""
    if osp.isdir(pattern):
        files = [osp.join(pattern, name) for name in os.listdir(pattern)
                 if name.lower().endswith(RASTER_EXTENSIONS)]
    elif is_collection(pattern):
        files = [f for f in glob.glob(pattern) if osp.isfile(f)]
    else:
        if not osp.exists(pattern):
            raise InputError(f'{pattern}: no such file or folder.')
        files = [pattern]
    if not files:
        raise InputError(f'{pattern}: no raster files found.')
    return sorted(files)


def pair_inputs(files_a: List[str], files_b: List[str]) -> List[str]:
    """Date-B files in the order of date A, paired by file name."""
    if len(files_a) == 1 and len(files_b) == 1:
        return files_b
    by_name = {osp.basename(f): f for f in files_b}
    missing = [osp.basename(f) for f in files_a
               if osp.basename(f) not in by_name]
    if missing or len(files_a) != len(files_b):
        raise InputError(
            f'date A and date B hold different files: {len(files_a)} vs '
            f'{len(files_b)}; without a partner in B: {missing[:5]}.')
    return [by_name[osp.basename(f)] for f in files_a]


def output_paths(task: str, inputs: List[str], out: str, tile: bool,
                 collection: bool) -> List[str]:
    """One output file per input: ``out`` itself for a single input file,
    else ``out/<stem><ext>`` (a folder or glob of inputs)."""
    if task == 'cls' and not tile:
        return [out]
    if not collection:
        return [out]
    if osp.isfile(out):
        raise InputError(f'{out}: several inputs need a folder for -o, '
                         'this is a file.')
    ext = OUTPUT_EXTENSIONS[task]
    return [osp.join(out, osp.splitext(osp.basename(f))[0] + ext)
            for f in inputs]


def companions(task: str, path: str, probs: bool) -> List[str]:
    """Every file an output path stands for."""
    files = [path]
    if task == 'det':
        files.append(f'{osp.splitext(path)[0]}_dota.txt')
    elif probs:
        files.append(probs_path(path))
    return files


def check_outputs(task: str, outputs: List[str], probs: bool,
                  overwrite: bool) -> None:
    existing = [f for path in outputs for f in companions(task, path, probs)
                if osp.exists(f)]
    if existing and not overwrite:
        raise InputError(f'output exists: {", ".join(existing[:5])} '
                         '(use --overwrite to replace it).')


def write_csv(path: str, records: List[dict], topk: int) -> None:
    header = ['file'] + [f'{key}{i + 1}' for i in range(topk)
                         for key in ('class', 'score')]

    def write(tmp: str) -> None:
        with open(tmp, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for record in records:
                row = [record['file']]
                for name, score in zip(record['classes'], record['scores']):
                    row += [name, f'{score:.5f}']
                writer.writerow(row)

    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    write_atomically(path, write)


def run(args: argparse.Namespace) -> List[str]:
    """Run the command; return the files written."""
    cfg = Config.fromfile(args.config) if osp.isfile(args.config) else None
    if cfg is None:
        raise InputError(f'{args.config}: no such config file.')
    merge_cfg_options(cfg, args.cfg_options)
    task = task_of(cfg)
    if (task == 'cd') != (args.input_b is not None):
        raise InputError(
            'change detection takes two inputs (INPUT INPUT_B)' if
            task == 'cd' else f'a {task} model takes one input, got two')
    if not osp.isfile(args.checkpoint):
        raise InputError(f'{args.checkpoint}: no such checkpoint file.')
    inputs = expand_inputs(args.input)
    inputs_b = pair_inputs(inputs, expand_inputs(args.input_b)) \
        if task == 'cd' else []
    outputs = output_paths(task, inputs, args.out, bool(args.tile),
                           is_collection(args.input))
    check_outputs(task, outputs, args.probs, args.overwrite)
    kwargs = dict(device=args.device, batch_size=args.batch_size,
                  bands=args.bands, amp=args.amp, quiet=args.quiet)
    if task == 'det':
        kwargs['score_thr'] = args.score_thr
    inferencer = build_inferencer(cfg, args.checkpoint, **kwargs)
    written: List[str] = []
    if task == 'cls' and not args.tile:
        write_csv(outputs[0], inferencer(inputs, topk=args.topk),
                  args.topk)
        return outputs
    for index, (path, out) in enumerate(zip(inputs, outputs)):
        if task == 'seg':
            result = inferencer(path, out, probs=args.probs, tile=args.tile,
                                overlap=args.overlap)
        elif task == 'cd':
            result = inferencer(path, inputs_b[index], out,
                                probs=args.probs, tile=args.tile,
                                overlap=args.overlap, align=args.align)
        elif task == 'det':
            result = inferencer(path, out, tile=args.tile,
                                overlap=args.overlap)
        else:
            result = inferencer.class_map(path, out, tile=args.tile,
                                          probs=args.probs)
        written += result['paths']
    return written


def stop_on_sigterm(signum: int, frame) -> None:
    """A ``kill`` ends the run like Ctrl-C: unfinished outputs are
    removed on the way out."""
    raise SystemExit(128 + signum)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        written = run(args)
    except (InputError, RasterError, FileNotFoundError, ValueError) as error:
        print(f'infer.py: error: {error}', file=sys.stderr)
        return 2
    if not args.quiet:
        for path in written:
            print(f'[infer] wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
