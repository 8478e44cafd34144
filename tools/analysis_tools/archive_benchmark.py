"""Archive inference throughput: one process against two, and resume.

``--scenes`` generated 3-band GeoTIFFs go through ``tools/infer.py`` as a
folder, each run in fresh processes:

- 1 process, 1 torch thread;
- 1 process, 2 threads;
- 2 processes of 1 thread each (``tools/dist_infer.sh``, torchrun, gloo);
- 1 process, 1 thread, SIGKILLed once half of the pixels are done, then
  ``--resume``d.

The table gives the wall time of each command (start-up, model building
and the scenes) and the processing span from the run record (first scene
started to last scene finished, over all ranks), scenes per hour on both,
and the speed-up and scaling efficiency against 1 process with 1 thread.
The resume row compares the resumed run with the full 1-thread run.

Example::

    python tools/analysis_tools/archive_benchmark.py --scenes 8 \\
        --size 256 256
"""
import argparse
import json
import os
import os.path as osp
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

from lemevit_mm.apis.archive import RunRecord, record_span

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(REPO,
                          'configs/seg/lemevit_t_upernet_potsdam_sample.py')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--checkpoint',
                        help='weights (default: the model as initialised; '
                        'speed does not depend on them)')
    parser.add_argument('--scenes', type=int, default=8)
    parser.add_argument('--size', nargs=2, type=int, default=(256, 256),
                        metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--work-dir',
                        help='where scenes and outputs go (default: a '
                        'temporary folder, removed at the end)')
    parser.add_argument('--json', help='also write the rows here')
    return parser.parse_args(argv)


def make_inputs(folder: str, count: int, size: Sequence[int]) -> None:
    """``count`` random 3-band uint8 GeoTIFFs of ``size`` (UTM)."""
    import numpy as np
    from lemevit_mm.testing.rasters import write_tiff
    os.makedirs(folder, exist_ok=True)
    for index in range(count):
        image = np.random.RandomState(index).randint(
            0, 256, (*size, 3)).astype(np.uint8)
        write_tiff(osp.join(folder, f'scene{index:04d}.tif'), image,
                   origin=(500000. + index * 1000, 5700000.))


def make_checkpoint(config: str, path: str) -> str:
    import torch
    from mmengine.config import Config

    from lemevit_mm.apis import build_model_from_config
    torch.manual_seed(0)
    model = build_model_from_config(Config.fromfile(config))
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def command(args: argparse.Namespace, checkpoint: str, inputs: str,
            out: str, procs: int, threads: int,
            extra: Sequence[str] = ()) -> List[str]:
    options = ['-o', out, '--threads', str(threads), '--batch-size',
               str(args.batch_size), '--quiet', *extra]
    if procs == 1:
        return [sys.executable, osp.join(REPO, 'tools/infer.py'),
                args.config, checkpoint, inputs, *options]
    return ['bash', osp.join(REPO, 'tools/dist_infer.sh'), args.config,
            checkpoint, str(procs), inputs, *options]


def environment(threads: int) -> Dict[str, str]:
    return dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()),
                OMP_NUM_THREADS=str(threads))


def timed_run(cmd: List[str], threads: int) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=environment(threads),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed:\n'
                           f'{(proc.stdout + proc.stderr)[-4000:]}')
    return time.perf_counter() - start


def kill_at_half(cmd: List[str], out: str, total_pixels: int) -> int:
    """Start ``cmd``, SIGKILL it once half of the pixels are recorded
    done; return the scenes done then."""
    proc = subprocess.Popen(cmd, cwd=REPO, env=environment(1),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    done = 0
    try:
        while proc.poll() is None:
            events = [e for e in RunRecord(out).events()
                      if e.get('event') == 'scene']
            if sum(e.get('pixels', 0) for e in events) >= total_pixels / 2:
                done = len(events)
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return done


def row(name: str, procs: int, threads: int, wall: float, out: str,
        base: Optional[dict] = None) -> dict:
    span = record_span(out)
    entry = dict(run=name, procs=procs, threads=threads, wall_s=wall,
                 span_s=span['seconds'], scenes=span['scenes'],
                 tiles=span['tiles'])
    entry['scenes_per_h_wall'] = 3600 * span['scenes'] / wall
    entry['scenes_per_h_span'] = 3600 * span['scenes'] / max(
        span['seconds'], 1e-9)
    if base is not None:
        entry['speedup_wall'] = base['wall_s'] / wall
        entry['speedup_span'] = base['span_s'] / max(span['seconds'], 1e-9)
        cores = procs * threads
        entry['efficiency_span'] = entry['speedup_span'] / cores
    return entry


def format_table(rows: List[dict]) -> str:
    header = ('| run | procs x threads | wall s | scenes/h (wall) | '
              'span s | scenes/h (span) | speed-up wall / span | '
              'efficiency |')
    lines = [header, '|' + '---|' * 8]
    for r in rows:
        speedup = f'{r["speedup_wall"]:.2f}x / {r["speedup_span"]:.2f}x' \
            if 'speedup_wall' in r else '1.00x / 1.00x'
        efficiency = f'{100 * r["efficiency_span"]:.0f}%' \
            if 'efficiency_span' in r else '100%'
        if r['run'].startswith('resume'):
            speedup = (f'{100 * r["fraction_wall"]:.0f}% / '
                       f'{100 * r["fraction_span"]:.0f}% of the full run')
            efficiency = ''
        lines.append(
            f'| {r["run"]} | {r["procs"]} x {r["threads"]} | '
            f'{r["wall_s"]:.1f} | {r["scenes_per_h_wall"]:.0f} | '
            f'{r["span_s"]:.1f} | {r["scenes_per_h_span"]:.0f} | '
            f'{speedup} | {efficiency} |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    args = parse_args(argv)
    work = args.work_dir or tempfile.mkdtemp(prefix='archive_benchmark_')
    try:
        inputs = osp.join(work, 'scenes')
        make_inputs(inputs, args.scenes, args.size)
        checkpoint = args.checkpoint or make_checkpoint(
            args.config, osp.join(work, 'model.pth'))
        rows = []
        runs = [('1 process', 1, 1), ('1 process, 2 threads', 1, 2),
                ('2 processes', 2, 1)]
        for name, procs, threads in runs:
            out = osp.join(work, f'out_{procs}x{threads}')
            wall = timed_run(command(args, checkpoint, inputs, out, procs,
                                     threads), threads)
            rows.append(row(name, procs, threads, wall, out,
                            rows[0] if rows else None))
            print(json.dumps(rows[-1]), file=sys.stderr)
        out = osp.join(work, 'out_resume')
        cmd = command(args, checkpoint, inputs, out, 1, 1)
        pixels = args.scenes * args.size[0] * args.size[1]
        done = kill_at_half(cmd, out, pixels)
        wall = timed_run(command(args, checkpoint, inputs, out, 1, 1,
                                 ['--resume']), 1)
        resumed = row(f'resume after a kill at 50% ({done} scenes done)',
                      1, 1, wall, out)
        resumed['fraction_wall'] = wall / rows[0]['wall_s']
        resumed['fraction_span'] = resumed['span_s'] / rows[0]['span_s']
        rows.append(resumed)
        print(format_table(rows))
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(rows, f, indent=1)
        return rows
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
