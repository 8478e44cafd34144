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

    # an archive: a list file (or a CSV with path, path_b for change
    # detection) over all CPUs/GPUs, resumable, with COGs, STAC, a VRT
    bash tools/dist_infer.sh configs/seg/lemevit_t_upernet_potsdam.py \
        iter_80000.pth 8 scenes.txt -o out/ --cog --stac --mosaic
    python tools/infer.py ... scenes.txt -o out/ --resume

INPUT (and INPUT_B) is a raster file, a folder, a glob or a list file
(``.txt``: one path per line; ``.csv``: a ``path`` column, and
``path_b`` for change detection); paths go to GDAL unchanged
(``/vsizip/``, ``/vsicurl/``, ``/vsis3/`` work). With several inputs
``-o`` is a folder that gets one output per input (same stem) and the run
record ``run.json``; the scenes are shared among the processes of a
``--launcher pytorch`` (torchrun) or ``slurm`` run, a failing scene is
recorded and the run goes on (exit code 1 at the end). Outputs are
written under a temporary name and renamed when complete; an existing
output is refused unless ``--overwrite`` or ``--resume`` (skip the
scenes recorded done, redo the rest).
"""
import argparse
import glob
import os
import os.path as osp
import signal
import sys
import threading
from typing import Any, List, NamedTuple, Optional, Sequence

# Module level: the standard library only. The arguments and inputs are
# checked before torch and the OpenMMLab packages are imported (which
# takes seconds), in check_paths().




class InputError(ValueError):
    """A problem with the command line's inputs or outputs."""


class Scene(NamedTuple):
    """One call of the inferencer: its inputs (one per date, or all
    images of a table) and its output file."""
    inputs: List[str]
    out: str


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Scene-scale inference on rasters (any task).',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('Examples::')[1])
    parser.add_argument('config', help='the model config (with '
                        '--backend onnxruntime|openvino: the exported '
                        'model, and no CHECKPOINT)')
    parser.add_argument('checkpoint', help='trained weights')
    parser.add_argument('input', nargs='?',
                        help='raster file, folder, glob or list file')
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
                        help="'cpu' or 'cuda[:N]' ('cuda' in a distributed "
                        'run: the GPU of each local rank)')
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
    parser.add_argument('--resume', action='store_true',
                        help='go on with an interrupted run: skip the '
                        'scenes recorded done, redo the rest')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        default='none',
                        help='share the scenes among the processes of a '
                        'torchrun (pytorch) or srun (slurm) launch')
    parser.add_argument('--threads', type=int,
                        help='torch threads of each process')
    parser.add_argument('--cog', action='store_true',
                        help='write Cloud Optimized GeoTIFFs (overviews)')
    parser.add_argument('--stac', action='store_true',
                        help='write a STAC Item per scene and a Collection')
    parser.add_argument('--mosaic', action='store_true',
                        help='write a VRT mosaic of all outputs per CRS')
    parser.add_argument('--preview', action='store_true',
                        help='also write a PNG quicklook beside each '
                        'output (the input as RGB, the result over it, '
                        'a legend and a scale bar)')
    parser.add_argument('--quiet', action='store_true',
                        help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                        help='override config entries (as in MMEngine)')
    parser.add_argument('--backend', default='torch',
                        choices=['torch', 'onnxruntime', 'openvino'],
                        help='run an exported model (tools/deployment/'
                        'export_onnx.py) instead of CONFIG CHECKPOINT: '
                        'MODEL INPUT [INPUT_B]')
    args = parser.parse_args(argv)
    if args.backend != 'torch':
        # MODEL INPUT [INPUT_B]: the positionals move up by one
        if args.input_b is not None:
            parser.error('--backend: give MODEL INPUT [INPUT_B] (no '
                         'checkpoint: the exported model holds it)')
        args.model, args.input, args.input_b = \
            args.config, args.checkpoint, args.input
        args.checkpoint = None
    elif args.input is None:
        parser.error('the following arguments are required: input')
    return args


def is_virtual(path: str) -> bool:
    """A path for GDAL's virtual file systems or a URL."""
    return path.startswith('/vsi') or '://' in path


def check_paths(args: argparse.Namespace) -> None:
    """What the command line can check before anything is imported: the
    config, the checkpoint and the inputs exist, the numbers make
    sense."""
    if args.backend != 'torch':
        if not osp.isfile(args.model):
            raise InputError(f'{args.model}: no such exported model.')
    elif not osp.isfile(args.config):
        raise InputError(f'{args.config}: no such config file.')
    elif not osp.isfile(args.checkpoint):
        raise InputError(f'{args.checkpoint}: no such checkpoint file.')
    for pattern in filter(None, [args.input, args.input_b]):
        if is_virtual(pattern):
            continue
        if any(c in pattern for c in '*?[') and not osp.exists(pattern):
            if not glob.glob(pattern):
                raise InputError(f'{pattern}: no file matches.')
        elif not osp.exists(pattern):
            raise InputError(f'{pattern}: no such file or folder.')
    if args.threads is not None and args.threads < 1:
        raise InputError(f'--threads {args.threads}: must be >= 1.')
    if args.batch_size < 1:
        raise InputError(f'--batch-size {args.batch_size}: must be >= 1.')
    if args.resume and args.overwrite:
        raise InputError('--resume keeps what is done, --overwrite redoes '
                         'it: give one of them.')


def cfg_options(strings: Optional[List[str]]) -> Optional[dict]:
    """``--cfg-options`` as MMEngine's ``DictAction`` reads them."""
    if not strings:
        return None
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='options')(
        None, namespace, strings)
    return namespace.options


def expand_inputs(pattern: str) -> List[str]:
    """Files of a path, folder or glob, sorted; an error if none."""
    from lemevit_mm.apis.archive import RASTER_EXTENSIONS
    if is_virtual(pattern):
        return [pattern]
    if osp.isdir(pattern):
        files = [osp.join(pattern, name) for name in os.listdir(pattern)
                 if name.lower().endswith(RASTER_EXTENSIONS)]
    elif any(c in pattern for c in '*?['):
        files = [f for f in glob.glob(pattern) if osp.isfile(f)]
    else:
        if not osp.exists(pattern):
            raise InputError(f'{pattern}: no such file or folder.')
        files = [pattern]
    if not files:
        raise InputError(f'{pattern}: no raster files found.')
    return sorted(files)


def load_config(args: argparse.Namespace):
    """The config of the command line, with its ``--cfg-options``."""
    from mmengine.config import Config

    from lemevit_mm.apis import merge_cfg_options
    cfg = Config.fromfile(args.config)
    merge_cfg_options(cfg, cfg_options(args.cfg_options))
    return cfg


def inferencer_kwargs(args: argparse.Namespace) -> dict:
    """The inferencer's arguments of the command line (every task)."""
    return dict(device=args.device, batch_size=args.batch_size,
                bands=args.bands, amp=args.amp, quiet=args.quiet)


def build(inferencer: Any, cfg: Any, args: argparse.Namespace,
          **overrides):
    """The inferencer of the command line (the model is loaded here);
    ``overrides`` replace :func:`inferencer_kwargs` (a distributed run's
    device and progress)."""
    return inferencer(cfg, args.checkpoint,
                      **dict(inferencer_kwargs(args), **overrides))


def after_scene(args: argparse.Namespace, scene: Scene, result: Any,
                provenance: Optional[dict] = None,
                inferencer: Any = None) -> List[str]:
    """The files one finished scene leaves: its outputs, and whatever is
    made of them afterwards (the place for conversions, catalogue
    entries, previews): Cloud Optimized GeoTIFFs (``--cog``), the
    scene's STAC Item (``--stac``) and its quicklook (``--preview``, in
    the colours and with the class names of ``inferencer``)."""
    written = list(result.paths)
    if args.cog:
        from lemevit_mm.io.cog import to_cog
        for path in written:
            if path.lower().endswith(('.tif', '.tiff')):
                to_cog(path)
    if args.stac and written and written[0].lower().endswith(
            ('.tif', '.tiff', '.geojson')):  # not a table of images
        from lemevit_mm.io.stac import write_item
        written.append(write_item(
            written, scene.inputs, task=args.task, cog=args.cog,
            provenance=provenance,
            collection=collection_id(args) if is_collection(args.input)
            else None))
    # last: the picture reads the finished (COG) output
    if getattr(args, 'preview', False) and inferencer is not None:
        from lemevit_mm.reports.quicklook import quicklooks_of_result
        bands = args.bands if args.bands and len(args.bands) == 3 \
            else None
        written += quicklooks_of_result(
            args.task, scene.inputs, result, inferencer.classes,
            inferencer.palette(), bands)
    return written


def collection_id(args: argparse.Namespace) -> str:
    """The STAC Collection of a run: named after its output folder."""
    return osp.basename(osp.abspath(args.out)) or 'lemevit'


def is_collection(pattern: str) -> bool:
    from lemevit_mm.apis.archive import is_collection as several
    return several(pattern)


def set_threads(threads: Optional[int], backend: str = 'torch') -> None:
    if threads and backend == 'torch':
        import torch
        torch.set_num_threads(threads)


def run_one(args: argparse.Namespace, cfg: Any, inferencer_type: Any,
            options: Any) -> List[str]:
    """One scene (or one table of images) into the file ``-o``."""
    from lemevit_mm.apis import archive
    collects = inferencer_type.collects_inputs(options)
    given = [args.input] + ([args.input_b] if args.input_b else [])
    inputs = expand_inputs(args.input) if collects else given
    outputs = inferencer_type.output_files(args.out, options)
    if args.stac and not collects:
        outputs += archive.stac_outputs(args.out)
    existing = [f for f in outputs if osp.exists(f)]
    if args.resume and existing and len(existing) == len(outputs):
        if not args.quiet:
            print(f'[infer] {args.out} exists: nothing to resume')
        return []
    if existing and not (args.overwrite or args.resume):
        raise InputError(f'output exists: {", ".join(existing[:5])} '
                         '(use --overwrite to replace it).')
    set_threads(args.threads, args.backend)
    inferencer = build(inferencer_type, cfg, args)
    provenance = archive.run_provenance(args.config, args.checkpoint,
                                        sys.argv) if args.stac else None
    scene = Scene(inputs, args.out)
    result = inferencer.infer(scene.inputs, scene.out, options)
    return after_scene(args, scene, result, provenance, inferencer)


def run_archive(args: argparse.Namespace, cfg: Any, inferencer_type: Any,
                options: Any) -> int:
    """Every scene of a folder, glob or list file into the folder ``-o``,
    shared among the processes of the launch; the exit code."""
    from lemevit_mm.apis import archive
    if osp.isfile(args.out):
        raise InputError(f'{args.out}: several inputs need a folder for '
                         '-o, this is a file.')
    try:
        scenes = archive.collect_scenes(
            args.input, args.input_b,
            pairs=inferencer_type.num_inputs == 2)

        def companions(main: str) -> List[str]:
            files = inferencer_type.output_files(main, options)[1:]
            return files + (archive.stac_outputs(main) if args.stac
                            else [])

        archive.assign_outputs(scenes, args.out,
                               inferencer_type.output_extension(options),
                               companions)
        done = archive.check_outputs(scenes, args.out, args.resume,
                                     args.overwrite)
    except archive.ArchiveError as error:
        raise InputError(str(error)) from None
    ctx = archive.init_distributed(args.launcher, args.device)
    set_threads(args.threads, args.backend)

    def make_process(provenance: dict):
        # one tile bar per scene in one process; rank lines in many
        inferencer = build(inferencer_type, cfg, args,
                           device=ctx.device(args.device),
                           quiet=args.quiet or ctx.world_size > 1)

        def process(scene: archive.Scene) -> dict:
            job = Scene(list(scene.inputs), scene.outputs[0])
            result = inferencer.infer(job.inputs, job.out, options)
            return dict(tiles=result.tiles, seconds=result.seconds,
                        outputs=after_scene(args, job, result, provenance,
                                            inferencer))

        return process

    def finish(done_scenes: list, provenance: dict) -> None:
        written = archive.finish_archive(
            args.out, done_scenes, mosaic=args.mosaic, stac=args.stac,
            provenance=provenance, collection=collection_id(args))
        if not args.quiet:
            for path in written:
                print(f'[infer] wrote {path}')

    try:
        summary = archive.run_archive(
            scenes, args.out, make_process, ctx, done, resume=args.resume,
            quiet=args.quiet,
            provenance=lambda: archive.run_provenance(
                args.config, args.checkpoint, sys.argv,
                options={k: v for k, v in vars(args).items()
                         if k not in ('config', 'checkpoint')}),
            finish=finish)
    finally:
        ctx.close()
    if ctx.rank == 0 and (summary.failed or not args.quiet):
        print(summary.describe(), file=sys.stderr)
    return summary.exit_code


def run(args: argparse.Namespace) -> int:
    """Run the command; return its exit code."""
    check_paths(args)
    import lemevit_mm  # noqa: F401  (registers models, weights-only load)
    from lemevit_mm.apis import InferOptions, inferencer_class
    if args.backend != 'torch':
        # an exported model: the backend object takes the config's place
        from lemevit_mm.deploy import RuntimeMissing, load_exported
        try:
            cfg = load_exported(args.model, args.backend, args.threads)
        except RuntimeMissing as error:
            raise InputError(str(error)) from None
        inferencer_type = inferencer_class(cfg.info.task)
    else:
        from lemevit_mm.apis import task_of
        cfg = load_config(args)
        inferencer_type = inferencer_class(task_of(cfg))
    args.task = inferencer_type.task
    options = InferOptions.from_args(args)
    collects = inferencer_type.collects_inputs(options)
    if collects or not is_collection(args.input):
        error = None if collects else inferencer_type.input_count_error(
            1 + (args.input_b is not None))
        if error:
            raise InputError(error)
        if args.launcher != 'none':
            raise InputError(
                f'--launcher {args.launcher} shares the scenes of a '
                'folder, glob or list file among processes; '
                f'{args.input} is one scene (or one table).')
        written = run_one(args, cfg, inferencer_type, options)
        if not args.quiet:
            for path in written:
                print(f'[infer] wrote {path}')
        return 0
    return run_archive(args, cfg, inferencer_type, options)


def stop_on_sigterm(signum: int, frame) -> None:
    """A ``kill`` ends the run like Ctrl-C: unfinished outputs are
    removed on the way out."""
    raise SystemExit(128 + signum)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        return run(args)
    except (InputError, FileNotFoundError, ValueError) as error:
        # RasterError and the archive's errors are ValueErrors
        print(f'infer.py: error: {error}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
