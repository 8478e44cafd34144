"""Checkpoint reading that never runs pickled code.

MMEngine loads local checkpoints with ``torch.load(weights_only=False)``,
which executes whatever a pickle asks for. Importing :mod:`lemevit_mm`
replaces MMEngine's loader of local files by a weights-only one, so
``init_cfg``, ``load_from``, ``--resume`` and ``tools/test.py`` all load
tensors and plain containers only, plus the few classes that MMEngine
checkpoints hold (listed in :func:`safe_globals`). A file that is no
readable checkpoint (cut short by an interrupted download, damaged, or
of another format) raises :class:`CheckpointError`, which names it.
"""
import errno
import functools
import os.path as osp
import pickle
import pickletools
import zipfile
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from mmengine.runner import CheckpointLoader
from torch import Tensor

# A DDP / DataParallel wrapper's prefix of every parameter name.
MODULE_PREFIX = 'module.'
# Where a model's weights sit in a checkpoint, most preferred first:
# timm's EMA copy, then MMEngine's/timm's weights, then the raw model.
STATE_DICT_KEYS = ('state_dict_ema', 'state_dict', 'model')


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be read (truncated, corrupt or not a
    PyTorch file). The message starts with the file's path."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f'{path}: not a readable PyTorch checkpoint '
                         f'(truncated or corrupt?): {reason}')


# What torch.load says of a file that is not a whole checkpoint: a
# truncated or damaged zip archive, or a legacy (pickle) file cut short.
_DAMAGE_MESSAGES = ('PytorchStreamReader', 'corrupted', 'unexpected EOF',
                    'Ran out of input', 'invalid load key',
                    'pickle data was truncated')
# What torch's weights-only unpickler says of bytes that are no pickle.
_WEIGHTS_ONLY_DAMAGE = ('Unsupported operand', 'String is too long',
                        'pickle data was truncated')


def _unreadable_reason(filename: str,
                       error: BaseException) -> Optional[str]:
    """Why ``torch.load`` could not read ``filename``, if ``error`` says
    that the file is damaged or of another format (None: another
    problem, such as pickled objects that are not allow-listed)."""
    message = str(error).strip()
    if 'Weights only load failed' in message:
        # Bytes that are no pickle: damage. A whole pickle that the
        # weights-only reader refuses (classes that are not allow-listed,
        # opcodes it does not take) is refused by the caller.
        damage = [text for text in _WEIGHTS_ONLY_DAMAGE if text in message]
        if not damage or _holds_whole_pickle(filename):
            return None
        detail = message[message.index(damage[0]):].splitlines()[0]
        return f'unreadable pickle ({detail})'
    if isinstance(error, EOFError):
        return 'the file is empty' if osp.getsize(filename) == 0 else \
            'it ends early (EOFError)'
    if isinstance(error, OSError) and error.errno == errno.EINVAL:
        # torch's zip reader seeking past the end of a cut archive
        return f'its zip archive is cut short or damaged ({error})'
    if isinstance(error, (KeyError, UnicodeDecodeError)):
        return ('neither a zip archive nor a pickle '
                f'({type(error).__name__}: {message})')
    if isinstance(error, pickle.UnpicklingError) or any(
            text in message for text in _DAMAGE_MESSAGES):
        # torch's first sentence; the rest is generic advice.
        return message.split('. ')[0].rstrip('.')
    return None


def _holds_whole_pickle(filename: str) -> bool:
    """Whether the (first) pickle of a checkpoint parses to its end; only
    parsed, never run (:func:`pickletools.genops`)."""
    try:
        if zipfile.is_zipfile(filename):
            with zipfile.ZipFile(filename) as archive:
                name = next(name for name in archive.namelist()
                            if name.endswith('data.pkl'))
                with archive.open(name) as file:
                    for _ in pickletools.genops(file):
                        pass
        else:
            with open(filename, 'rb') as file:
                for _ in pickletools.genops(file):
                    pass
    except Exception:  # noqa: BLE001 -- any parse failure is damage
        return False
    return True


def strip_module_prefix(state: Dict[str, Any]) -> Dict[str, Any]:
    """``state`` without the ``module.`` prefix that DDP and
    ``DataParallel`` put before every name (names without it stay)."""
    size = len(MODULE_PREFIX)
    return {key[size:] if key.startswith(MODULE_PREFIX) else key: value
            for key, value in state.items()}


def _history_buffer_getattr(owner: Any, name: str) -> Any:
    """The one ``getattr`` MMEngine checkpoints pickle: a statistics
    method of ``HistoryBuffer`` (its ``_statistics_methods`` table).
    Standing in for ``builtins.getattr``, it allows nothing else."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if owner is HistoryBuffer and name in ('min', 'max', 'mean', 'current'):
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint.')


@functools.lru_cache(maxsize=None)
def safe_globals() -> List[Any]:
    """Classes besides tensors and containers that MMEngine checkpoints
    pickle: the message hub's history buffers (with their statistics
    methods) and NumPy arrays/scalars."""
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # NumPy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(name)) for name in (
        'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'float16',
        'float32', 'float64')]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype,
            *dtype_classes, (_history_buffer_getattr, 'builtins.getattr')]


def load_from_local_weights_only(filename: str,
                                 map_location: Optional[Any] = None) -> Any:
    """``torch.load`` with ``weights_only=True`` and :func:`safe_globals`.

    Raises:
        FileNotFoundError: The file does not exist.
        CheckpointError: The file is truncated, corrupt or not a
            PyTorch checkpoint.
        RuntimeError: The file needs code that is not allow-listed.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename} does not exist.')
    try:
        with torch.serialization.safe_globals(safe_globals()):
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
    except Exception as error:
        reason = _unreadable_reason(filename, error)
        if reason is not None:
            raise CheckpointError(filename, reason) from None
        if 'Weights only load failed' not in str(error) and \
                'weights_only' not in str(error):
            raise
        raise RuntimeError(
            f'Refusing to load {filename}: it holds pickled objects that '
            'are neither tensors nor allow-listed classes, and loading '
            f'them could run arbitrary code. torch said: '
            f'{str(error).splitlines()[0]}') from None


def register_weights_only_loader() -> None:
    """Make MMEngine load local checkpoint files weights-only."""
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_from_local_weights_only)


def load_weights(path: str) -> Any:
    """Read a checkpoint from a path or URL onto the CPU."""
    return CheckpointLoader.load_checkpoint(path, map_location='cpu')


def state_dict_key(checkpoint: dict) -> Optional[str]:
    """The first of :data:`STATE_DICT_KEYS` under which ``checkpoint``
    holds its weights (None: they are at the top level)."""
    return next((key for key in STATE_DICT_KEYS
                 if isinstance(checkpoint.get(key), dict)), None)


def select_state_dict(checkpoint: Any, name: str = 'checkpoint'
                      ) -> Dict[str, Tensor]:
    """The weights of a checkpoint, wherever its trainer put them.

    Args:
        checkpoint (Any): What :func:`load_weights` returned.
        name (str): How to call the checkpoint in errors.

    Returns:
        dict[str, Tensor]: The state dict.
    """
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{name} is not a checkpoint: it holds a '
                         f'{type(checkpoint).__name__}, not a dict.')
    key = state_dict_key(checkpoint)
    if key is not None:
        checkpoint = checkpoint[key]
    state = {k: v for k, v in checkpoint.items() if isinstance(v, Tensor)}
    if not state:
        raise ValueError(f'{name} holds no weights (top-level keys: '
                         f'{list(checkpoint)[:8]}).')
    return state
