"""Throughput of one model's backends side by side: PyTorch eager (the
CPU fast path), ONNX Runtime, OpenVINO and their INT8 models, on the same
tiles, and of the scene pipeline on each.

Backends run interleaved round by round (A, B, C, then A again), so their
ratios hold on a busy machine; each round times ``iters`` forward passes
after the warm-up; the median round counts.
"""
import datetime
import platform
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

__all__ = ['time_interleaved', 'environment', 'format_table']


def time_interleaved(candidates: Dict[str, Callable[[], Any]],
                     rounds: int = 3, iters: int = 1, warmup: int = 1
                     ) -> Dict[str, float]:
    """Median seconds of one call of each candidate, timed in
    interleaved rounds after ``warmup`` untimed calls each."""
    for _ in range(warmup):
        for run in candidates.values():
            run()
    times: Dict[str, List[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            start = time.perf_counter()
            for _ in range(iters):
                run()
            times[name].append((time.perf_counter() - start) / iters)
    return {name: statistics.median(values)
            for name, values in times.items()}


def environment() -> Dict[str, str]:
    """Machine, versions and date of a measurement."""
    import os
    info = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%d %H:%M UTC'), python=platform.python_version(),
        cpus=str(os.cpu_count()))
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['cpu'] = line.split(':', 1)[1].strip()
                    break
    except OSError:
        info['cpu'] = platform.processor()
    for module in ('torch', 'onnxruntime', 'openvino', 'onnx'):
        try:
            info[module] = __import__(module).__version__
        except Exception:  # not installed
            info[module] = '-'
    return info


def format_table(rows: Sequence[Dict[str, Any]],
                 columns: Sequence[str]) -> str:
    """A Markdown table of ``rows`` (dicts) in ``columns``."""
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f'{value:.3g}' if abs(value) < 100 else f'{value:.0f}'
        return str(value)

    lines = ['| ' + ' | '.join(columns) + ' |',
             '|' + '|'.join('---' for _ in columns) + '|']
    for row in rows:
        lines.append('| ' + ' | '.join(cell(row.get(c, ''))
                                       for c in columns) + ' |')
    return '\n'.join(lines)
