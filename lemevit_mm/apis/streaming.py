"""Streaming a scene through a model: the progress bar, reading ahead in
a background thread, and batching.

Imports nothing beyond the standard library.
"""
import queue
import sys
import threading
import time
from typing import Any, Iterable, Iterator, List, TypeVar

__all__ = ['Progress', 'read_ahead', 'batches']

Item = TypeVar('Item')


class Progress:
    """A one-line progress bar on stderr: done/total tiles, tiles/s, ETA.

    Args:
        total (int): Number of tiles.
        label (str): What is being processed (shown first).
        quiet (bool): Print nothing.
    """

    def __init__(self, total: int, label: str, quiet: bool = False) -> None:
        self.total, self.label, self.quiet = total, label, quiet
        self.done = 0
        self.start = time.perf_counter()
        self._last_print = 0.

    @property
    def rate(self) -> float:
        """Tiles per second so far."""
        elapsed = time.perf_counter() - self.start
        return self.done / elapsed if elapsed > 0 else 0.

    @property
    def seconds(self) -> float:
        """Seconds since the start."""
        return time.perf_counter() - self.start

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if self.quiet or (now - self._last_print < 0.5 and
                          self.done < self.total):
            return
        self._last_print = now
        rate = self.rate
        eta = (self.total - self.done) / rate if rate > 0 else 0.
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = '#' * filled + '.' * (width - filled)
        minutes, seconds = divmod(int(eta), 60)
        sys.stderr.write(
            f'\r{self.label} [{bar}] {self.done}/{self.total} tiles '
            f'{rate:.2f} tiles/s ETA {minutes // 60}:{minutes % 60:02d}:'
            f'{seconds:02d}')
        if self.done >= self.total:
            sys.stderr.write('\n')
        sys.stderr.flush()


_END = object()


def read_ahead(items: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """Iterate ``items`` in a background thread, up to ``depth`` ahead,
    so that reading (GDAL releases the GIL) overlaps the model. An error
    in the thread is raised here."""
    buffer: 'queue.Queue' = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                buffer.put(item)
        except BaseException as error:  # handed to the consumer
            buffer.put((_END, error))
            return
        buffer.put((_END, None))

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if isinstance(item, tuple) and len(item) == 2 and \
                    item[0] is _END:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on put()
            try:
                buffer.get_nowait()
            except queue.Empty:
                worker.join(0.05)


def batches(items: Iterable[Item], size: int) -> Iterator[List[Item]]:
    """Lists of ``size`` consecutive items (the last one shorter)."""
    batch: List[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
