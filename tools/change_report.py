r"""Change reports of two dates: object-level change and from-to class
transitions, with areas in square metres and quicklooks.

Examples::

    # objects: which objects persisted, moved, appeared or vanished
    python tools/change_report.py objects \
        configs/det/lemevit_t_oriented-rcnn_dota.py epoch_12.pth \
        date_a.tif date_b.tif -o changes.geojson \
        --change configs/cd/lemevit_t_bit_cdd.py best.pth --preview
    # classes: segment both dates, then the from-to transitions
    python tools/change_report.py classes \
        configs/seg/lemevit_t_upernet_potsdam.py iter_80000.pth \
        date_a.tif date_b.tif -o report/ --preview
    # classes of two existing class maps
    python tools/change_report.py classes --maps a_classes.tif \
        b_classes.tif -o report/

Outputs are written under a temporary name and renamed when complete;
existing outputs are refused unless --overwrite.
"""
import argparse
import os.path as osp
import signal
import sys
import threading
from typing import Any, Dict, List, Optional, Sequence

from lemevit_mm.io.raster import RasterError
from lemevit_mm.reports.objects import run_object_report, summary_path
from lemevit_mm.reports.quicklook import (quicklook_class_map,
                                          quicklook_path)
from lemevit_mm.reports.transitions import TRANSITIONS_TIF, run_transitions


class InputError(ValueError):
    """A problem with the command line's inputs or outputs."""


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--tile', nargs=2, type=int, metavar=('H', 'W'),
                        help='tile size (default: the config\'s)')
    parser.add_argument('--overlap', type=int, help='tile overlap (px)')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--device', default='cpu',
                        help="'cpu' or 'cuda[:N]'")
    parser.add_argument('--bands', nargs='+', type=int,
                        help='1-based bands to use, in model order')
    parser.add_argument('--amp', action='store_true',
                        help='autocast (see tools/infer.py)')


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--align', action='store_true',
                        help='date B may lie on another grid: align it '
                        'onto date A\'s')
    parser.add_argument('--preview', action='store_true',
                        help='also write a PNG quicklook beside each '
                        'output')
    parser.add_argument('--preview-bands', nargs=3, type=int,
                        metavar=('R', 'G', 'B'),
                        help='1-based bands shown as RGB in quicklooks')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing outputs')
    parser.add_argument('--quiet', action='store_true',
                        help='no progress bar')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Change reports of two dates.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('Examples::')[1])
    commands = parser.add_subparsers(dest='command', required=True)

    objects = commands.add_parser(
        'objects', help='object-level change (rotated detector)')
    objects.add_argument('config', help='the detector\'s config')
    objects.add_argument('checkpoint', help='the detector\'s weights')
    objects.add_argument('date_a', help='raster of date A')
    objects.add_argument('date_b', help='raster of date B')
    objects.add_argument('-o', '--out', required=True,
                         help='the GeoJSON of the changes')
    objects.add_argument('--change', nargs=2,
                         metavar=('CD_CONFIG', 'CD_CHECKPOINT'),
                         help='a change detector: its change probability '
                         'inside each object is stored')
    objects.add_argument('--iou', type=float, default=0.3,
                         help='rotated IoU from which two boxes are the '
                         'same object (default 0.3)')
    objects.add_argument('--move-distance', type=float,
                         help='largest shift of a moved object in metres '
                         '(default: the object\'s size)')
    objects.add_argument('--change-thr', type=float, default=0.5,
                         help='mean change probability below which an '
                         'appeared/vanished object is uncertain')
    objects.add_argument('--score-thr', type=float, default=0.3,
                         help='detection score threshold')
    _model_options(objects)
    _common_options(objects)

    classes = commands.add_parser(
        'classes', help='from-to class transitions (segmentor or maps)')
    classes.add_argument('inputs', nargs='*',
                         help='SEG_CONFIG SEG_CHECKPOINT DATE_A DATE_B')
    classes.add_argument('--maps', nargs=2, metavar=('MAP_A', 'MAP_B'),
                         help='two existing class maps instead')
    classes.add_argument('-o', '--out', required=True,
                         help='the report folder')
    classes.add_argument('--classes', nargs='+', dest='class_names',
                         help='class names (default: the maps\' or the '
                         'model\'s)')
    classes.add_argument('--nodata', type=int,
                         help='a class id to leave out')
    classes.add_argument('--image', help='with --maps: a raster to show '
                         'under the quicklook')
    _model_options(classes)
    _common_options(classes)
    args = parser.parse_args(argv)
    if args.command == 'classes':
        if args.maps and args.inputs:
            parser.error('classes: give either --maps MAP_A MAP_B or '
                         'SEG_CONFIG SEG_CHECKPOINT DATE_A DATE_B')
        if not args.maps and len(args.inputs) != 4:
            parser.error('classes: expected SEG_CONFIG SEG_CHECKPOINT '
                         'DATE_A DATE_B (or --maps MAP_A MAP_B)')
    return args


def _require_files(*paths: str) -> None:
    for path in paths:
        if not osp.isfile(path):
            raise InputError(f'{path}: no such file.')


def _refuse_existing(paths: Sequence[str], overwrite: bool) -> None:
    existing = [p for p in paths if osp.exists(p)]
    if existing and not overwrite:
        raise InputError(f'output exists: {", ".join(existing[:5])} '
                         '(use --overwrite to replace it).')


def _inferencer(config: str, checkpoint: str, args: argparse.Namespace,
                task: str, **extra):
    from lemevit_mm.apis import build_inferencer
    _require_files(config, checkpoint)
    inferencer = build_inferencer(
        config, checkpoint, device=args.device, batch_size=args.batch_size,
        bands=args.bands, amp=args.amp, quiet=args.quiet, **extra)
    if inferencer.task != task:
        raise InputError(f'{config}: a {inferencer.task} model, but this '
                         f'report needs a {task} model.')
    return inferencer


def _legend(inferencer) -> Dict[str, Any]:
    info = getattr(inferencer, 'info', None)
    if info is not None:
        return dict(classes=list(info.classes), palette=list(info.palette))
    return dict(classes=list(inferencer.classes),
                palette=list(inferencer.palette()))


def run_objects(args: argparse.Namespace) -> List[str]:
    _require_files(args.date_a, args.date_b)
    stem = osp.splitext(args.out)[0]
    planned = [args.out, summary_path(args.out)]
    if args.change:
        planned += [f'{stem}_change.tif', f'{stem}_change_probs.tif']
    if args.preview:
        planned.append(quicklook_path(args.out))
    _refuse_existing(planned, args.overwrite)
    detector = _inferencer(args.config, args.checkpoint, args, 'det',
                           score_thr=args.score_thr)
    legend = _legend(detector)
    tile = tuple(args.tile) if args.tile else None

    def detect(path: str) -> Dict[str, Any]:
        return detector(path, tile=tile, overlap=args.overlap)

    change = None
    if args.change:
        change_model = _inferencer(args.change[0], args.change[1], args,
                                   'cd')

        def change(path_a: str, path_b: str, out_stem: str) -> str:
            result = change_model(path_a, path_b, f'{out_stem}_change.tif',
                                  probs=True, tile=tile,
                                  overlap=args.overlap, align=args.align)
            return result['paths'][-1]

    report = run_object_report(
        args.date_a, args.date_b, args.out, detect, legend['classes'],
        iou_threshold=args.iou, move_distance_m=args.move_distance,
        align=args.align, change=change, change_threshold=args.change_thr,
        preview=args.preview, preview_bands=args.preview_bands)
    paths = list(report['paths'])
    if args.change:
        paths.insert(0, f'{stem}_change.tif')
    return paths


def run_classes(args: argparse.Namespace) -> List[str]:
    out = args.out
    if osp.isfile(out):
        raise InputError(f'{out}: the report needs a folder for -o, this '
                         'is a file.')
    planned = [osp.join(out, name) for name in (
        TRANSITIONS_TIF, 'transition_matrix_pixels.csv',
        'transition_matrix_m2.csv', 'class_areas.csv')]
    written: List[str] = []
    classes = args.class_names
    palette = None
    image = args.image
    if args.maps:
        map_a, map_b = args.maps
        _require_files(map_a, map_b, *([image] if image else []))
        _refuse_existing(planned, args.overwrite)
    else:
        config, checkpoint, date_a, date_b = args.inputs
        _require_files(date_a, date_b)
        map_a = osp.join(out, 'classes_a.tif')
        map_b = osp.join(out, 'classes_b.tif')
        planned += [map_a, map_b]
        if args.preview:
            planned += [quicklook_path(map_a), quicklook_path(map_b)]
        _refuse_existing(planned, args.overwrite)
        segmentor = _inferencer(config, checkpoint, args, 'seg')
        legend = _legend(segmentor)
        classes = classes or legend['classes']
        palette = legend['palette']
        tile = tuple(args.tile) if args.tile else None
        for date, class_map in ((date_a, map_a), (date_b, map_b)):
            written += segmentor(date, class_map, tile=tile,
                                 overlap=args.overlap)['paths']
            if args.preview:
                written.append(quicklook_class_map(
                    class_map, quicklook_path(class_map), legend['classes'],
                    legend['palette'], image=date,
                    bands=args.preview_bands)['path'])
        # the quicklook's ground: date B, or date A (the grid of the
        # report) when date B lies on another grid
        image = date_a if args.align else date_b
    report = run_transitions(
        map_a, map_b, out, classes=classes, palette=palette,
        nodata=args.nodata, align=args.align, preview=args.preview,
        image=image, preview_bands=args.preview_bands)
    return written + report['paths']


def stop_on_sigterm(signum: int, frame) -> None:
    """A ``kill`` ends the run like Ctrl-C: unfinished outputs are
    removed on the way out."""
    raise SystemExit(128 + signum)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        written = run_objects(args) if args.command == 'objects' else \
            run_classes(args)
    except (InputError, RasterError, FileNotFoundError, ValueError) as error:
        print(f'change_report.py: error: {error}', file=sys.stderr)
        return 2
    if not args.quiet:
        for path in written:
            print(f'[change_report] wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
