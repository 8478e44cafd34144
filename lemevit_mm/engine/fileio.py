"""Crash-safe writing of checkpoints and of the ``last_checkpoint`` file."""
import os
import os.path as osp
import uuid
from pathlib import Path
from typing import Callable, Union

from mmengine.fileio import LocalBackend, register_backend

ATOMIC_BACKEND = 'atomic_local'


def write_atomically(filepath: Union[str, Path],
                     write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``filepath``, flush
    it to disk and rename it over ``filepath``: the target is either the
    old file or the complete new one."""
    filepath = str(filepath)
    tmp = osp.join(osp.dirname(filepath) or '.',
                   f'.{osp.basename(filepath)}.{uuid.uuid4().hex}.tmp')
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend, but every write is atomic.

    MMEngine writes checkpoints (and the ``last_checkpoint`` pointer) in
    place, so a run killed while writing leaves a truncated file. This
    backend writes through :func:`write_atomically`. Select it with
    ``default_hooks.checkpoint.backend_args=dict(backend='atomic_local')``
    (``tools/train.py`` does this for local work dirs).
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically."""
        write_atomically(
            filepath, lambda tmp: super(AtomicLocalBackend, self).put(
                obj, tmp))

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        write_atomically(
            filepath, lambda tmp: super(AtomicLocalBackend, self).put_text(
                obj, tmp, encoding=encoding))
