"""Crash-safe writing of checkpoints and of the ``last_checkpoint`` file."""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from ..io.atomic import write_atomically

__all__ = ['ATOMIC_BACKEND', 'AtomicLocalBackend', 'write_atomically']

ATOMIC_BACKEND = 'atomic_local'


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
