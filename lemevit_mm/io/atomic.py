"""Atomic file output: the one way this project writes a file.

A file is written under a hidden temporary name beside its target
(``.<name>.<32 hex digits>.tmp``), flushed to disk and renamed over the
target, so the target is always either absent, the old file or the
complete new one. An error, Ctrl-C (``KeyboardInterrupt``) or
``SystemExit`` on the way removes the temporary file; only a killed
process (SIGKILL, power loss) can leave one behind, which
:func:`stale_temp_files` finds and :func:`remove_stale_temp_files` removes
(what ``--resume`` of an interrupted run does).

Three shapes of the same writer:

- :func:`write_atomically` ``(path, write)``: ``write(tmp)`` writes the
  file, e.g. a library call that takes a file name;
- :func:`atomic_output` ``(path)``: a context manager yielding the
  temporary name, for writers that stay open for a while;
- :func:`temp_path` / :func:`commit` / :func:`discard`: the steps, for
  classes that open a file in one method and finish it in another (the
  GeoTIFF writer of :mod:`lemevit_mm.io.raster`).
"""
import contextlib
import os
import os.path as osp
import re
import uuid
from pathlib import Path
from typing import (Callable, Iterable, Iterator, List, Optional, Set,
                    Union)

__all__ = [
    'temp_path', 'commit', 'discard', 'atomic_output', 'write_atomically',
    'write_text', 'write_bytes', 'is_temp_file', 'temp_target',
    'stale_temp_files', 'remove_stale_temp_files'
]

PathLike = Union[str, Path]

# `.<target name>.<uuid4 hex>.tmp`, optionally with a side file GDAL may
# create beside it (e.g. `.aux.xml`).
_TEMP_NAME = re.compile(
    r'^\.(?P<target>.+)\.(?P<token>[0-9a-f]{32})\.tmp(?:\.[A-Za-z.]+)?$')


def temp_path(path: PathLike) -> str:
    """A fresh hidden temporary name beside ``path``:
    ``<folder>/.<name>.<uuid>.tmp``."""
    path = str(path)
    return osp.join(osp.dirname(path) or '.',
                    f'.{osp.basename(path)}.{uuid.uuid4().hex}.tmp')


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders
    cannot be opened, as on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def commit(tmp: PathLike, path: PathLike) -> None:
    """Flush the finished temporary file ``tmp`` to disk and rename it
    over ``path``."""
    tmp, path = str(tmp), str(path)
    _fsync_file(tmp)
    os.replace(tmp, path)
    _fsync_folder(osp.dirname(path) or '.')


def discard(tmp: PathLike) -> None:
    """Remove an unfinished temporary file (nothing if it is gone)."""
    try:
        os.remove(str(tmp))
    except FileNotFoundError:
        pass


@contextlib.contextmanager
def atomic_output(path: PathLike,
                  make_folder: bool = False) -> Iterator[str]:
    """``with atomic_output(path) as tmp:`` write ``tmp``; at the end of
    the block it replaces ``path``, or is removed if the block raised
    (any exception, ``KeyboardInterrupt`` and ``SystemExit`` included).

    Args:
        path: The final file.
        make_folder: Create the folder of ``path`` if it is missing.
    """
    path = str(path)
    if make_folder and osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        commit(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def write_atomically(filepath: PathLike,
                     write: Callable[[str], None],
                     make_folder: bool = False) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``filepath``, flush
    it to disk and rename it over ``filepath``: the target is either the
    old file or the complete new one."""
    with atomic_output(filepath, make_folder) as tmp:
        write(tmp)


def write_text(path: PathLike, text: str, encoding: str = 'utf-8',
               make_folder: bool = False) -> None:
    """Write a text file atomically."""
    def write(tmp: str) -> None:
        with open(tmp, 'w', encoding=encoding, newline='') as f:
            f.write(text)

    write_atomically(path, write, make_folder)


def write_bytes(path: PathLike, data: bytes,
                make_folder: bool = False) -> None:
    """Write a binary file atomically."""
    def write(tmp: str) -> None:
        with open(tmp, 'wb') as f:
            f.write(data)

    write_atomically(path, write, make_folder)


Targets = Union[PathLike, Iterable[PathLike], None]


def _target_names(target: Targets) -> Optional[Set[str]]:
    if target is None:
        return None
    if isinstance(target, (str, Path)):
        target = [target]
    return {osp.basename(str(t)) for t in target}


def is_temp_file(name: PathLike, target: Targets = None) -> bool:
    """Whether a file name is one of this module's temporary names (of
    ``target``'s, if given: a path or several; compared by base name)."""
    match = _TEMP_NAME.match(osp.basename(str(name)))
    if match is None:
        return False
    names = _target_names(target)
    return names is None or match['target'] in names


def temp_target(name: PathLike) -> Optional[str]:
    """The final file a temporary file stands for (same folder), or None
    if ``name`` is not a temporary name."""
    name = str(name)
    match = _TEMP_NAME.match(osp.basename(name))
    if match is None:
        return None
    return osp.join(osp.dirname(name), match['target'])


def stale_temp_files(folder: PathLike, recursive: bool = False,
                     target: Targets = None) -> List[str]:
    """The temporary files of this module's naming in ``folder`` (and its
    sub-folders with ``recursive``), sorted; only those of ``target`` (a
    final path or several) if given. They are stale when no process that
    could finish them runs any more (a killed run)."""
    folder = str(folder)
    if not osp.isdir(folder):
        return []
    names_wanted = _target_names(target)
    found: List[str] = []
    if recursive:
        for root, _, names in os.walk(folder):
            found += [osp.join(root, n) for n in names
                      if is_temp_file(n, names_wanted)]
    else:
        found = [osp.join(folder, n) for n in os.listdir(folder)
                 if is_temp_file(n, names_wanted) and
                 osp.isfile(osp.join(folder, n))]
    return sorted(found)


def remove_stale_temp_files(folder: PathLike, recursive: bool = False,
                            target: Targets = None) -> List[str]:
    """Remove :func:`stale_temp_files` and return their paths. Call it
    only when no other process writes into ``folder``."""
    removed = []
    for path in stale_temp_files(folder, recursive, target):
        discard(path)
        removed.append(path)
    return removed
