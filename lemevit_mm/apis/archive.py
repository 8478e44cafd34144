"""Archive-scale inference: many scenes over many processes, resumable.

The pieces ``tools/infer.py`` puts together when it runs over a folder, a
glob or a list of scenes, in one process or in many
(``torch.distributed``: ``tools/dist_infer.sh``, torchrun or SLURM's
``srun``):

- :func:`collect_scenes` reads the inputs (a raster, a folder, a glob, a
  list file with one path per line, or a CSV with a ``path`` and, for
  change detection, a ``path_b`` column). Paths go to rasterio unchanged,
  so GDAL's virtual file systems (``/vsizip/``, ``/vsicurl/``,
  ``/vsis3/``, ...) work as in GDAL.
- :func:`shard` shares the scenes among the ranks, balanced by pixel count
  (largest first, each to the least loaded rank) and the same on every
  rank.
- :class:`RunRecord` is the run record in the output folder: every rank
  appends one JSON line per finished scene to its own
  ``.run.rank<R>.jsonl``; at the end rank 0 merges them into
  ``run.jsonl`` (every event of every run) and ``run.json`` (the runs and
  the last state of every scene). ``--resume`` reads it.
- :class:`ArchiveRun` processes the scenes of one rank: a scene that fails
  is recorded with its reason and the run goes on; one line per finished
  scene, and on rank 0 an overall progress line over all ranks.
- :func:`init_distributed` starts the process group of a ``pytorch``
  (torchrun, ``env://``) or ``slurm`` launch: gloo on CPUs, NCCL with
  CUDA.

Nothing here imports torch at module level: the inputs are checked before
the model is built.
"""
import csv
import datetime
import glob
import hashlib
import json
import os
import os.path as osp
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..io import atomic
from ..io.atomic import write_text
from ..io.raster import is_virtual_path

__all__ = [
    'ArchiveError', 'Scene', 'RASTER_EXTENSIONS', 'LIST_EXTENSIONS',
    'is_virtual', 'is_collection', 'collect_scenes', 'read_list_file',
    'scene_pixels', 'shard', 'RunRecord', 'completed_scenes',
    'remove_stale_temp_files', 'assign_outputs', 'check_outputs',
    'ArchiveRun', 'ArchiveSummary', 'run_archive', 'DistContext',
    'init_distributed', 'slurm_environment', 'first_host', 'file_sha256',
    'run_provenance', 'stac_outputs', 'finish_archive', 'record_span'
]

RASTER_EXTENSIONS = ('.tif', '.tiff', '.png', '.jpg', '.jpeg', '.jp2',
                     '.img', '.vrt', '.bmp')
LIST_EXTENSIONS = ('.txt', '.lst', '.list', '.csv')
RECORD_NAME = 'run'  # run.json, run.jsonl
RANK_RECORD = re.compile(r'^\.run\.rank(\d+)\.jsonl$')


class ArchiveError(ValueError):
    """A problem with the inputs or outputs of an archive run; the message
    names the file."""


def is_virtual(path: str) -> bool:
    """Whether ``path`` is for GDAL only: a virtual file system
    (``/vsizip/``, ``/vsis3/``, ...) or a URL, which this process cannot
    look at with ``os.path``."""
    return is_virtual_path(path)


def is_list_file(path: str) -> bool:
    """Whether an input names a list of scenes (by its extension)."""
    return path.lower().endswith(LIST_EXTENSIONS) and \
        not is_virtual(path) and osp.isfile(path)


def is_collection(pattern: str) -> bool:
    """Whether an input names several scenes (a folder, a glob or a list
    file): the outputs then go into the output folder."""
    if is_virtual(pattern):
        return False
    return osp.isdir(pattern) or any(c in pattern for c in '*?[') or \
        is_list_file(pattern)


@dataclass
class Scene:
    """One unit of work: the inputs of one prediction and its outputs.

    Attributes:
        inputs (tuple[str]): One raster, or the two dates of a change pair.
        outputs (tuple[str]): Every file the scene writes (the main output
            first, then its companions).
        pixels (int): Size for the sharding (height x width of the first
            input; 0 when its header cannot be read).
    """

    inputs: Tuple[str, ...]
    outputs: Tuple[str, ...] = ()
    pixels: int = 0

    @property
    def key(self) -> str:
        """The name of the scene in the run record: its main output's
        file name."""
        return osp.basename(self.outputs[0]) if self.outputs else \
            self.inputs[0]

    @property
    def name(self) -> str:
        return osp.basename(self.inputs[0].rstrip('/'))


def _strip(line: str) -> str:
    return line.strip().strip('\ufeff')


def read_list_file(path: str, pairs: bool = False) -> List[Tuple[str, ...]]:
    """The scenes of a list file: one path per line (blank lines and lines
    starting with ``#`` skipped), or a CSV file (``.csv``) with a header
    holding a ``path`` column and, for ``pairs``, a ``path_b`` column.

    Paths are returned as written (rasterio gets them unchanged; relative
    ones are relative to the working folder, as in GDAL).

    Raises:
        ArchiveError: The file is empty, or a CSV lacks a column.
    """
    with open(path, newline='', encoding='utf-8-sig') as f:
        text = f.read()
    scenes: List[Tuple[str, ...]] = []
    if path.lower().endswith('.csv'):
        reader = csv.DictReader(text.splitlines())
        columns = [c.strip() for c in reader.fieldnames or []]
        need = ['path', 'path_b'] if pairs else ['path']
        missing = [c for c in need if c not in columns]
        if missing:
            raise ArchiveError(
                f'{path}: a CSV list needs the column(s) '
                f'{", ".join(need)}; missing {", ".join(missing)} '
                f'(header: {", ".join(columns) or "none"}).')
        for number, row in enumerate(reader, start=2):
            row = {k.strip(): (v or '').strip() for k, v in row.items()
                   if k is not None}
            if not any(row.values()):
                continue
            values = tuple(row[c] for c in need)
            if not all(values):
                raise ArchiveError(f'{path}, line {number}: an empty '
                                   f'{" or ".join(need)}.')
            scenes.append(values)
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            line = _strip(line)
            if not line or line.startswith('#'):
                continue
            if pairs:
                parts = line.split()
                if len(parts) != 2:
                    raise ArchiveError(
                        f'{path}, line {number}: change detection needs '
                        'two paths per line (date A and date B), or a CSV '
                        'with path and path_b columns.')
                scenes.append(tuple(parts))
            else:
                scenes.append((line, ))
    if not scenes:
        raise ArchiveError(f'{path}: the list holds no scene.')
    return scenes


def expand_pattern(pattern: str) -> List[str]:
    """The rasters of a path, folder or glob, sorted."""
    if is_virtual(pattern):
        return [pattern]
    if osp.isdir(pattern):
        files = [osp.join(pattern, name) for name in os.listdir(pattern)
                 if name.lower().endswith(RASTER_EXTENSIONS)]
    elif any(c in pattern for c in '*?['):
        files = [f for f in glob.glob(pattern) if osp.isfile(f)]
    else:
        if not osp.exists(pattern):
            raise ArchiveError(f'{pattern}: no such file or folder.')
        files = [pattern]
    if not files:
        raise ArchiveError(f'{pattern}: no raster files found.')
    return sorted(files)


def _pair_by_name(files_a: List[str], files_b: List[str]) -> List[str]:
    if len(files_a) == 1 and len(files_b) == 1:
        return files_b
    by_name = {osp.basename(f): f for f in files_b}
    missing = [osp.basename(f) for f in files_a
               if osp.basename(f) not in by_name]
    if missing or len(files_a) != len(files_b):
        raise ArchiveError(
            f'date A and date B hold different files: {len(files_a)} vs '
            f'{len(files_b)}; without a partner in B: {missing[:5]}.')
    return [by_name[osp.basename(f)] for f in files_a]


def collect_scenes(input_a: str, input_b: Optional[str] = None,
                   pairs: bool = False) -> List[Scene]:
    """The scenes of the command line's inputs, in input order.

    Args:
        input_a (str): A raster, folder, glob or list file.
        input_b (str, optional): Date B of change detection (a raster,
            folder or glob paired with ``input_a`` by file name). Not with
            a list file, which holds both dates itself.
        pairs (bool): Change detection: every scene has two inputs.

    Raises:
        ArchiveError: Nothing found, a list file without date B, ...
    """
    if is_list_file(input_a):
        if input_b is not None:
            raise ArchiveError(
                f'{input_a}: a list file holds both dates (a CSV with '
                'path and path_b); give no second input.')
        return [Scene(inputs) for inputs in read_list_file(input_a, pairs)]
    files_a = expand_pattern(input_a)
    if not pairs:
        return [Scene((f, )) for f in files_a]
    if input_b is None:
        raise ArchiveError('change detection takes two inputs (INPUT '
                           'INPUT_B) or a CSV list with path and path_b.')
    files_b = _pair_by_name(files_a, expand_pattern(input_b))
    return [Scene((a, b)) for a, b in zip(files_a, files_b)]


def assign_outputs(scenes: List[Scene], out_dir: str, extension: str,
                   companions: Callable[[str], Sequence[str]]) -> None:
    """Give every scene ``out_dir/<stem of its first input><extension>``
    and its companion files; refuse two scenes with one output name (two
    ranks would write the same file)."""
    seen: Dict[str, str] = {}
    for scene in scenes:
        stem = osp.splitext(scene.name)[0]
        main = osp.join(out_dir, stem + extension)
        if main in seen:
            raise ArchiveError(
                f'{seen[main]} and {scene.inputs[0]} would both be written '
                f'to {main}: rename one, or run them into separate '
                'folders.')
        seen[main] = scene.inputs[0]
        scene.outputs = (main, *companions(main))


def scene_pixels(path: str) -> int:
    """``height x width`` from a raster's header (0 if it cannot be read:
    the scene then fails, and is recorded, when it is processed)."""
    try:
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning
    except ImportError:
        return 0
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            with rasterio.open(path) as dataset:
                return int(dataset.height) * int(dataset.width)
    except Exception:  # unreadable: recorded when processed
        return 0


def shard(sizes: Sequence[int], world_size: int) -> List[List[int]]:
    """Deterministic, balanced shares of items of the given sizes.

    Items are taken largest first (ties in input order), each to the rank
    with the least work so far (ties to the lowest rank): the longest
    processing time rule, which keeps one huge scene from leaving the
    other ranks idle at the end.

    Returns:
        list[list[int]]: For each rank, its item indices in the order it
        should process them (largest first).
    """
    if world_size < 1:
        raise ValueError(f'world_size must be >= 1, got {world_size}')
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))
    loads = [0] * world_size
    counts = [0] * world_size
    shares: List[List[int]] = [[] for _ in range(world_size)]
    for index in order:
        # a size of 0 (unknown) still counts as one unit of work
        rank = min(range(world_size),
                   key=lambda r: (loads[r], counts[r], r))
        shares[rank].append(index)
        loads[rank] += max(int(sizes[index]), 1)
        counts[rank] += 1
    return shares


# ---------------------------------------------------------------------------
# The run record
# ---------------------------------------------------------------------------
def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec='milliseconds')


def _read_jsonl(path: str) -> List[dict]:
    """The complete JSON lines of a file (a last line cut by a kill is
    skipped)."""
    records = []
    try:
        with open(path, encoding='utf-8') as f:
            for line in f:
                if not line.endswith('\n'):
                    break  # cut short by a kill
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return records


class RunRecord:
    """The run record of an output folder.

    Every rank appends to its own ``.run.rank<R>.jsonl`` (one ``write`` of
    one line per event, flushed to disk: a kill loses at most the line
    being written, which readers skip); :meth:`merge` (rank 0, after all
    ranks finished) folds them into ``run.jsonl`` and writes ``run.json``.

    Args:
        out_dir (str): The output folder.
        rank (int): This process's rank.
    """

    def __init__(self, out_dir: str, rank: int = 0) -> None:
        self.out_dir = out_dir
        self.rank = rank
        self.path = osp.join(out_dir, f'.run.rank{rank}.jsonl')
        self.jsonl = osp.join(out_dir, RECORD_NAME + '.jsonl')
        self.json = osp.join(out_dir, RECORD_NAME + '.json')
        self._lock = threading.Lock()

    def append(self, record: dict) -> None:
        """Append one event (a JSON line) to this rank's file."""
        line = (json.dumps(record, sort_keys=True) + '\n').encode()
        with self._lock:
            os.makedirs(self.out_dir, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                         0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def rank_files(self) -> List[str]:
        """The per-rank files present (of this run and of killed ones)."""
        try:
            names = os.listdir(self.out_dir)
        except FileNotFoundError:
            return []
        return sorted((osp.join(self.out_dir, n) for n in names
                       if RANK_RECORD.match(n)),
                      key=lambda p: int(RANK_RECORD.match(
                          osp.basename(p)).group(1)))

    def events(self) -> List[dict]:
        """Every event recorded so far: the merged ``run.jsonl`` and the
        per-rank files not merged yet (a killed run's), without
        duplicates."""
        events = _read_jsonl(self.jsonl)
        if not events and osp.isfile(self.json):
            try:
                with open(self.json, encoding='utf-8') as f:
                    merged = json.load(f)
                events = list(merged.get('runs', [])) + \
                    list(merged.get('scenes', []))
            except ValueError:
                events = []
        seen = {json.dumps(e, sort_keys=True) for e in events}
        for path in self.rank_files():
            for event in _read_jsonl(path):
                text = json.dumps(event, sort_keys=True)
                if text not in seen:
                    seen.add(text)
                    events.append(event)
        return events

    def clear(self) -> None:
        """Forget the record (a run without ``--resume``)."""
        for path in [self.jsonl, self.json, *self.rank_files()]:
            if osp.exists(path):
                os.remove(path)

    def merge(self, scenes: Sequence[Scene]) -> dict:
        """Fold the per-rank files into ``run.jsonl`` and write ``run.json``
        (the runs, and the last state of each of ``scenes`` in their
        order); return what ``run.json`` holds."""
        events = self.events()
        body = ''.join(json.dumps(e, sort_keys=True) + '\n' for e in events)
        write_text(self.jsonl, body)
        for path in self.rank_files():
            os.remove(path)
        last: Dict[str, dict] = {}
        for event in events:
            if event.get('event') == 'scene':
                last[event['key']] = event
        states = [last.get(s.key, dict(
            event='scene', key=s.key, inputs=list(s.inputs),
            outputs=list(s.outputs), status='pending')) for s in scenes]
        counts: Dict[str, int] = {}
        for state in states:
            counts[state['status']] = counts.get(state['status'], 0) + 1
        merged = dict(
            runs=[e for e in events if e.get('event') == 'run'],
            summary=dict(scenes=len(states), **counts),
            scenes=states)
        write_text(self.json,
                               json.dumps(merged, indent=1) + '\n')
        return merged


def completed_scenes(record: RunRecord,
                     scenes: Sequence[Scene]) -> List[bool]:
    """For each scene whether it is done: its last record is ``ok`` for
    the same inputs and outputs, and every output file exists."""
    last: Dict[str, dict] = {}
    for event in record.events():
        if event.get('event') == 'scene':
            last[event.get('key')] = event
    done = []
    for scene in scenes:
        event = last.get(scene.key)
        done.append(
            event is not None and event.get('status') == 'ok' and
            tuple(event.get('inputs', ())) == scene.inputs and
            set(event.get('outputs', ())) >= set(scene.outputs) and
            all(osp.isfile(path) for path in scene.outputs))
    return done


def remove_stale_temp_files(scenes: Sequence[Scene],
                            extra: Sequence[str] = ()) -> List[str]:
    """Remove the temporary files a killed run left beside the outputs of
    ``scenes`` (and beside the files ``extra``); return their paths."""
    by_folder: Dict[str, List[str]] = {}
    for path in [p for s in scenes for p in s.outputs] + list(extra):
        by_folder.setdefault(osp.dirname(path) or '.', []).append(path)
    removed: List[str] = []
    for folder, targets in by_folder.items():
        removed += atomic.remove_stale_temp_files(folder, target=targets)
    return removed


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, in hex."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def run_provenance(config: str, checkpoint: Optional[str],
                   argv: Sequence[str], **extra) -> dict:
    """What a run record says once per run: config, checkpoint and its
    SHA-256, package versions, command line, time and host."""
    from .. import version
    versions = dict(lemevit_mm=getattr(version, '__version__', None))
    for name in ('torch', 'mmengine', 'mmcv', 'mmseg', 'mmdet', 'mmrotate',
                 'mmpretrain', 'rasterio', 'numpy'):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, '__version__', None)
    return dict(
        event='run', config=config, checkpoint=checkpoint,
        checkpoint_sha256=file_sha256(checkpoint) if checkpoint and
        osp.isfile(checkpoint) else None,
        versions=versions, command=[sys.executable, *argv],
        started=_now(), host=socket.gethostname(), **extra)


# ---------------------------------------------------------------------------
# Processing the scenes of one rank
# ---------------------------------------------------------------------------
def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(max(seconds, 0)), 60)
    return f'{minutes // 60}:{minutes % 60:02d}:{seconds:02d}'


class _OverallProgress:
    """Rank 0's view of the whole run, from every rank's record file:
    scenes done, tiles per second over all ranks, and the time left (by
    the pixels still to do)."""

    def __init__(self, record: RunRecord, run_id: str, scenes: int,
                 pixels: int) -> None:
        self.record, self.run_id = record, run_id
        self.scenes, self.pixels = scenes, max(pixels, 1)
        self.start = time.perf_counter()
        self._offsets: Dict[str, int] = {}
        self.done = self.failed = self.tiles = self.done_pixels = 0

    def poll(self) -> None:
        """Read what the ranks appended since the last call."""
        for path in self.record.rank_files():
            try:
                with open(path, 'rb') as f:
                    f.seek(self._offsets.get(path, 0))
                    data = f.read()
            except FileNotFoundError:
                continue
            end = data.rfind(b'\n') + 1
            self._offsets[path] = self._offsets.get(path, 0) + end
            for line in data[:end].splitlines():
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get('event') != 'scene' or \
                        event.get('run') != self.run_id:
                    continue
                self.done += 1
                self.failed += event.get('status') != 'ok'
                self.tiles += int(event.get('tiles') or 0)
                self.done_pixels += int(event.get('pixels') or 0)

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        rate = self.tiles / elapsed if elapsed > 0 else 0.
        fraction = min(self.done_pixels / self.pixels, 1.)
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.
        width = 24
        filled = int(width * self.done / max(self.scenes, 1))
        failed = f', {self.failed} failed' if self.failed else ''
        return (f'[archive] [{"#" * filled}{"." * (width - filled)}] '
                f'{self.done}/{self.scenes} scenes{failed} {rate:.2f} '
                f'tiles/s ETA {_clock(eta)}')


class ArchiveRun:
    """Processes one rank's share of the scenes and records each.

    Args:
        scenes (Sequence[Scene]): All scenes of the run (every rank holds
            the same list).
        share (Sequence[int]): Indices of this rank's scenes, in order.
        process (callable): ``process(scene) -> dict`` writes the outputs
            of a scene and returns at least ``tiles``; an exception fails
            the scene (recorded with its reason; the run goes on).
        record (RunRecord, optional): Where to record (None: nothing).
        run_id (str): The run's id (the same on every rank).
        rank (int), world_size (int): This process and the run's size.
        quiet (bool): No progress output.
        stream: Where progress goes. Defaults to ``sys.stderr``.
    """

    def __init__(self, scenes: Sequence[Scene], share: Sequence[int],
                 process: Callable[[Scene], Dict[str, Any]],
                 record: Optional[RunRecord] = None, run_id: str = '',
                 rank: int = 0, world_size: int = 1, quiet: bool = False,
                 stream=None) -> None:
        self.scenes, self.share = list(scenes), list(share)
        self.process = process
        self.record = record
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.rank, self.world_size = rank, world_size
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.host = socket.gethostname()
        self.results: List[dict] = []

    def _say(self, text: str) -> None:
        if not self.quiet:
            self.stream.write(text + '\n')
            self.stream.flush()

    def run_scene(self, scene: Scene) -> dict:
        """Process one scene; return (and record) its event."""
        start = time.perf_counter()
        event = dict(event='scene', run=self.run_id, key=scene.key,
                     inputs=list(scene.inputs), outputs=list(scene.outputs),
                     pixels=scene.pixels, rank=self.rank, host=self.host,
                     pid=os.getpid())
        try:
            result = self.process(scene) or {}
        except Exception as error:  # recorded; the run goes on
            reason = str(error) or type(error).__name__
            if not isinstance(error, (ValueError, OSError)):
                reason = f'{type(error).__name__}: {reason}'
                tail = traceback.format_exc().strip().splitlines()[-3:]
                event['traceback'] = tail
            event.update(status='failed', reason=reason, tiles=0)
        else:
            event.update(status='ok', reason=None,
                         tiles=int(result.get('tiles') or 0))
            if result.get('outputs'):
                event['outputs'] = list(result['outputs'])
        event.update(seconds=round(time.perf_counter() - start, 3),
                     finished=_now())
        if self.record is not None:
            self.record.append(event)
        self.results.append(event)
        return event

    def run(self) -> List[dict]:
        """Process the share; return the events of this rank."""
        prefix = f'[rank {self.rank}/{self.world_size}] ' \
            if self.world_size > 1 else ''
        for number, index in enumerate(self.share, start=1):
            scene = self.scenes[index]
            event = self.run_scene(scene)
            status = 'ok' if event['status'] == 'ok' else \
                f'FAILED: {event["reason"]}'
            self._say(f'{_clear_line(self.stream)}{prefix}{number}/'
                      f'{len(self.share)} {scene.name}: {status} '
                      f'({event["tiles"]} tiles, {event["seconds"]:.1f} s)')
        return self.results


def _is_tty(stream) -> bool:
    return bool(getattr(stream, 'isatty', lambda: False)())


def _clear_line(stream) -> str:
    """What returns a terminal's cursor over a progress bar."""
    return '\r\x1b[K' if _is_tty(stream) else ''


class _ProgressTicker:
    """Rank 0's overall progress line while the ranks work: redrawn every
    ``seconds`` on a terminal, else printed when it changed, at most every
    ``log_seconds``."""

    def __init__(self, overall: _OverallProgress, stream,
                 seconds: float = 2., log_seconds: float = 30.) -> None:
        self.overall, self.stream = overall, stream
        self.seconds = seconds if _is_tty(stream) else log_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._last = ''

    def _show(self, final: bool = False) -> None:
        self.overall.poll()
        line = self.overall.line()
        if line == self._last and not final:
            return
        self._last = line
        if _is_tty(self.stream):
            self.stream.write('\r\x1b[K' + line + ('\n' if final else ''))
        else:
            self.stream.write(line + '\n')
        self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            self._show()

    def start(self) -> '_ProgressTicker':
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._show(final=True)


# ---------------------------------------------------------------------------
# torch.distributed
# ---------------------------------------------------------------------------
def first_host(nodelist: str) -> str:
    """The first host of a SLURM node list, e.g. ``gpu[03-05,07],cpu1`` ->
    ``gpu03`` (what ``scontrol show hostnames`` prints first)."""
    nodelist = nodelist.strip()
    match = re.match(r'^([^,\[]+)(\[([^\]]+)\])?', nodelist)
    if not match:
        raise ValueError(f'cannot read the SLURM node list {nodelist!r}')
    prefix, ranges = match.group(1), match.group(3)
    if not ranges:
        return prefix
    first = ranges.split(',')[0].split('-')[0]
    return prefix + first


def _scontrol_first_host(nodelist: str) -> Optional[str]:
    """The first host ``scontrol show hostnames`` names (None where
    there is no scontrol)."""
    if shutil.which('scontrol') is None:
        return None
    try:
        return subprocess.run(
            ['scontrol', 'show', 'hostnames', nodelist],
            capture_output=True, text=True, timeout=30,
            check=True).stdout.split()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def slurm_environment(env: Optional[Dict[str, str]] = None,
                      port: Optional[int] = None) -> Dict[str, str]:
    """The ``env://`` variables of a process started by ``srun``
    (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
    ``MASTER_PORT``), from ``SLURM_PROCID``, ``SLURM_NTASKS``,
    ``SLURM_LOCALID`` and the first host of ``SLURM_NODELIST``, as
    OpenMMLab's SLURM launch does. ``MASTER_ADDR`` and ``MASTER_PORT``
    already set are kept (default port 29500)."""
    env = dict(os.environ if env is None else env)
    missing = [k for k in ('SLURM_PROCID', 'SLURM_NTASKS',
                           'SLURM_NODELIST') if k not in env]
    if missing:
        raise ArchiveError(
            f'--launcher slurm: {", ".join(missing)} not set; start the '
            'processes with srun.')
    nodelist = env['SLURM_NODELIST']
    address = env.get('MASTER_ADDR') or _scontrol_first_host(nodelist) or \
        first_host(nodelist)
    return dict(
        RANK=env['SLURM_PROCID'], WORLD_SIZE=env['SLURM_NTASKS'],
        LOCAL_RANK=env.get('SLURM_LOCALID', '0'), MASTER_ADDR=address,
        MASTER_PORT=str(port or env.get('MASTER_PORT') or 29500))


@dataclass
class DistContext:
    """Where this process stands in the run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: Optional[str] = None
    _group: Any = field(default=None, repr=False)

    @property
    def distributed(self) -> bool:
        return self.backend is not None

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist
            dist.barrier()

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.distributed:
            return obj
        import torch.distributed as dist
        box = [obj if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def total(self, value: int) -> int:
        """The sum of ``value`` over all ranks."""
        if not self.distributed:
            return value
        import torch
        import torch.distributed as dist
        device = f'cuda:{torch.cuda.current_device()}' \
            if self.backend == 'nccl' else 'cpu'
        tensor = torch.tensor([value], dtype=torch.int64, device=device)
        dist.all_reduce(tensor)
        return int(tensor.item())

    def close(self) -> None:
        if self.distributed:
            import torch.distributed as dist
            if dist.is_initialized():
                dist.destroy_process_group()
            self.backend = None

    def device(self, requested: str) -> str:
        """The device of this process: ``cuda`` becomes this local rank's
        GPU in a distributed run; ``cpu`` and ``cuda:N`` stay."""
        if requested == 'cuda' and self.distributed:
            return f'cuda:{self.local_rank}'
        return requested


def rank_environment() -> Tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's variables."""
    return (int(os.environ.get('RANK', 0)),
            int(os.environ.get('WORLD_SIZE', 1)),
            int(os.environ.get('LOCAL_RANK', 0)))


def init_distributed(launcher: str, device: str = 'cpu',
                     timeout_hours: float = 72.) -> DistContext:
    """Start this process's part of the run.

    Args:
        launcher (str): ``'none'`` (one process), ``'pytorch'`` (torchrun:
            ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ... set) or
            ``'slurm'`` (``srun``: the variables are derived from SLURM's).
        device (str): ``'cpu'`` or ``'cuda[:N]'``: gloo on CPUs, NCCL on
            GPUs (each rank on its local rank's GPU).
        timeout_hours (float): How long a rank waits for the others at
            the end: ranks of an archive run may finish hours apart.
    """
    if launcher == 'none':
        return DistContext()
    if launcher == 'slurm':
        os.environ.update(slurm_environment())
    elif launcher != 'pytorch':
        raise ArchiveError(f'--launcher {launcher}: expected none, pytorch '
                           'or slurm.')
    if 'RANK' not in os.environ or 'WORLD_SIZE' not in os.environ:
        raise ArchiveError(
            '--launcher pytorch: RANK and WORLD_SIZE are not set; start '
            'the processes with torchrun (tools/dist_infer.sh).')
    rank, world_size, local_rank = rank_environment()
    import torch
    import torch.distributed as dist
    cuda = device.startswith('cuda') and torch.cuda.is_available()
    backend = 'nccl' if cuda else 'gloo'
    if cuda:
        torch.cuda.set_device(local_rank if device == 'cuda' else
                              torch.device(device))
    if not dist.is_initialized():
        dist.init_process_group(
            backend=backend, init_method='env://',
            timeout=datetime.timedelta(hours=timeout_hours))
    return DistContext(rank=dist.get_rank(),
                       world_size=dist.get_world_size(),
                       local_rank=local_rank, backend=backend)


# ---------------------------------------------------------------------------
# A whole run
# ---------------------------------------------------------------------------
def check_outputs(scenes: Sequence[Scene], out_dir: str, resume: bool,
                  overwrite: bool) -> List[bool]:
    """Which scenes are done already (``resume``: outputs present and
    recorded as done), after refusing outputs that exist when neither
    ``resume`` nor ``overwrite`` is given.

    Raises:
        ArchiveError: An output exists (names the first ones).
    """
    if overwrite:
        return [False] * len(scenes)
    if resume:
        return completed_scenes(RunRecord(out_dir), scenes)
    existing = [path for scene in scenes for path in scene.outputs
                if osp.exists(path)]
    if existing:
        more = f' and {len(existing) - 5} more' if len(existing) > 5 else ''
        raise ArchiveError(
            f'output exists: {", ".join(existing[:5])}{more} (use --resume '
            'to go on with an interrupted run, --overwrite to replace '
            'them).')
    return [False] * len(scenes)


@dataclass
class ArchiveSummary:
    """The outcome of :func:`run_archive` (complete on rank 0)."""

    scenes: int
    skipped: int
    ok: int
    failed: List[dict]
    record: Optional[str] = None

    @property
    def exit_code(self) -> int:
        """0 when every scene is done, 1 when some failed."""
        return 1 if self.failed else 0

    def describe(self) -> str:
        """The closing lines of a run, naming the failed scenes."""
        before = f' ({self.skipped} done before)' if self.skipped else ''
        lines = [f'[archive] {self.scenes} scene(s): {self.ok} ok{before}'
                 f', {len(self.failed)} failed.']
        for event in self.failed:
            lines.append(f'[archive] FAILED {" + ".join(event["inputs"])}: '
                         f'{event.get("reason")}')
        if self.record:
            lines.append(f'[archive] record: {self.record}')
        return '\n'.join(lines)


def run_archive(scenes: List[Scene], out_dir: str,
                make_process: Callable[[dict], Callable[[Scene], dict]],
                ctx: Optional[DistContext] = None,
                done: Optional[Sequence[bool]] = None,
                resume: bool = False, quiet: bool = False,
                provenance: Optional[Callable[[], dict]] = None,
                finish: Optional[Callable[[List[Scene], dict],
                                          None]] = None,
                stream=None) -> ArchiveSummary:
    """Run every scene not ``done`` over the ranks of ``ctx``.

    Rank 0 removes the temporary files a killed run left, starts the
    record (forgets an old one unless ``resume``), reads the sizes of the
    scenes, shares them among the ranks and tells every rank its share
    and the run's provenance. Each rank with scenes calls
    ``make_process(provenance)`` once (builds the model) and processes
    its share; after all ranks finished, rank 0
    merges the record and calls ``finish`` (mosaics, a catalogue).

    Args:
        scenes (list[Scene]): Every scene of the run (outputs assigned),
            the same list on every rank.
        out_dir (str): The output folder (the record goes there).
        make_process (callable): ``make_process(provenance)`` returns
            ``process(scene) -> dict`` (``provenance``: the run's event,
            see :func:`run_provenance`, with its ``run`` id).
        ctx (DistContext, optional): This rank (None: one process).
        done (Sequence[bool], optional): Scenes to skip (see
            :func:`check_outputs`).
        resume (bool): Keep the old record and add to it.
        quiet (bool): No progress output.
        provenance (callable, optional): Returns the run's provenance
            event (see :func:`run_provenance`), called on rank 0.
        finish (callable, optional): ``finish(done scenes, provenance)``,
            called on rank 0 at the end.

    Returns:
        ArchiveSummary: On every rank; ``failed`` names the failed scenes
        of the whole run on rank 0, this rank's elsewhere (the exit code
        is the same everywhere).
    """
    ctx = ctx or DistContext()
    done = list(done) if done is not None else [False] * len(scenes)
    stream = stream or sys.stderr
    record = RunRecord(out_dir, ctx.rank)
    plan = None
    if ctx.rank == 0:
        os.makedirs(out_dir, exist_ok=True)
        removed = remove_stale_temp_files(
            scenes, [record.json, record.jsonl])
        if removed and not quiet:
            stream.write(f'[archive] removed {len(removed)} temporary '
                         'file(s) of an interrupted run\n')
        if not resume:
            record.clear()
        todo = [i for i, d in enumerate(done) if not d]
        sizes = [scene_pixels(scenes[i].inputs[0]) for i in todo]
        shares = [[todo[j] for j in share]
                  for share in shard(sizes, ctx.world_size)]
        run = uuid.uuid4().hex[:12]
        event = dict(provenance() if provenance is not None else
                     dict(event='run'), run=run,
                     world_size=ctx.world_size, scenes=len(scenes),
                     todo=len(todo))
        record.append(event)
        plan = dict(run=run, shares=shares, pixels=dict(zip(todo, sizes)),
                    provenance=event)
    plan = ctx.broadcast(plan)
    for index, pixels in plan['pixels'].items():
        scenes[int(index)].pixels = pixels
    share = plan['shares'][ctx.rank]
    events: List[dict] = []
    ticker = None
    if ctx.rank == 0 and ctx.world_size > 1 and not quiet:
        ticker = _ProgressTicker(_OverallProgress(
            record, plan['run'], len(plan['pixels']),
            sum(plan['pixels'].values())), stream).start()
    try:
        if share:
            events = ArchiveRun(
                scenes, share, make_process(plan['provenance']), record,
                plan['run'], ctx.rank, ctx.world_size, quiet, stream).run()
        elif not quiet:
            stream.write(f'[rank {ctx.rank}/{ctx.world_size}] nothing to '
                         'do\n')
        failed = [e for e in events if e['status'] != 'ok']
        failed_total = ctx.total(len(failed))  # waits for every rank
    finally:
        if ticker is not None:
            ticker.stop()
    summary = ArchiveSummary(scenes=len(scenes), skipped=sum(done),
                             ok=len(events) - len(failed), failed=failed)
    if ctx.rank == 0:
        merged = record.merge(scenes)
        states = merged['scenes']
        summary.ok = sum(s['status'] == 'ok' for s in states) - \
            summary.skipped
        summary.failed = [s for s in states if s['status'] == 'failed'
                          and s.get('run') == plan['run']]
        summary.record = record.json
        if finish is not None:
            finish([scene for scene, state in zip(scenes, states)
                    if state['status'] == 'ok'], plan['provenance'])
    elif failed_total and not failed:
        summary.failed = [dict(inputs=['(another rank)'],
                               reason='see the summary of rank 0')]
    ctx.barrier()
    return summary


# ---------------------------------------------------------------------------
# Cloud-native outputs of a run
# ---------------------------------------------------------------------------
def stac_outputs(main: str) -> List[str]:
    """The STAC Item file written beside a main output with ``--stac``
    (a companion of it for the record)."""
    from ..io.stac import item_path
    return [item_path(main)]


def finish_archive(out_dir: str, scenes: Sequence[Scene],
                   mosaic: bool = False, stac: bool = False,
                   provenance: Optional[dict] = None,
                   collection: str = 'lemevit-run') -> List[str]:
    """The files of a whole run, written by rank 0 at the end over the
    done ``scenes``: VRT mosaics (``mosaic``: one over the main outputs
    and one over each kind of raster companion, e.g. probabilities, per
    CRS) and the STAC Collection (``stac``: ``collection.json``)."""
    written: List[str] = []
    if mosaic:
        from ..io.mosaic import write_mosaics
        kinds: Dict[int, List[str]] = {}
        for scene in scenes:
            files = [p for p in scene.outputs
                     if not p.endswith('.stac.json')]
            for position, path in enumerate(files):
                if path.lower().endswith(('.tif', '.tiff')):
                    kinds.setdefault(position, []).append(path)
        for position, paths in sorted(kinds.items()):
            stem = 'mosaic' if position == 0 else \
                'mosaic' + _companion_suffix(paths[0], scenes)
            written += write_mosaics(paths, out_dir, stem)
    if stac:
        from ..io.stac import item_path, write_collection
        items = [item_path(s.outputs[0]) for s in scenes
                 if osp.isfile(item_path(s.outputs[0]))]
        if items:
            written.append(write_collection(
                items, osp.join(out_dir, 'collection.json'), collection,
                f'lemevit-mm predictions of {len(items)} scene(s)',
                provenance))
    return written


def _companion_suffix(path: str, scenes: Sequence[Scene]) -> str:
    """``'_probs'`` for ``x_probs.tif`` beside ``x.tif``."""
    stem = osp.splitext(osp.basename(path))[0]
    for scene in scenes:
        main = osp.splitext(osp.basename(scene.outputs[0]))[0]
        if stem.startswith(main) and stem != main:
            return stem[len(main):]
    return '_' + stem


def record_span(out_dir: str) -> Dict[str, float]:
    """How long the last run of an output folder processed scenes: from
    the first scene's start to the last scene's end over all ranks
    (start-up excluded), with its scenes and tiles; read from the
    record (merged or not)."""
    events = [e for e in RunRecord(out_dir).events()
              if e.get('event') == 'scene']
    if not events:
        return dict(seconds=0., scenes=0, tiles=0)
    run = events[-1]['run']
    events = [e for e in events if e.get('run') == run]
    ends = [datetime.datetime.fromisoformat(e['finished']).timestamp()
            for e in events]
    starts = [end - float(e['seconds']) for end, e in zip(ends, events)]
    return dict(seconds=max(ends) - min(starts), scenes=len(events),
                tiles=sum(int(e.get('tiles') or 0) for e in events))
