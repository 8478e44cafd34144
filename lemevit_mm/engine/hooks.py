"""Hooks that make ``--resume`` continue a run exactly."""
import random
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

RNG_KEY = 'rng_state'


def capture_rng_state() -> Dict[str, Any]:
    """The state of Python's, NumPy's and torch's global generators, in
    types that a weights-only checkpoint can hold."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(kind=kind, keys=torch.from_numpy(keys.astype(np.int64)),
                   pos=int(pos), has_gauss=int(has_gauss),
                   cached_gaussian=float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Undo :func:`capture_rng_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    numpy_state = state['numpy']
    np.random.set_state((numpy_state['kind'],
                         numpy_state['keys'].numpy().astype(np.uint32),
                         numpy_state['pos'], numpy_state['has_gauss'],
                         numpy_state['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available() and \
            len(state['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random generators with each checkpoint and restore them on
    resume, so that a resumed run draws the same augmentations, mixup
    pairs and drop-path masks as an uninterrupted one.

    Validation runs between two training epochs are kept out of the
    training stream (the generators are restored after them), because a
    resumed run does not repeat the validation that preceded the
    checkpoint.

    Exactness needs the same seed, ``randomness.deterministic=True`` and
    data loading whose randomness is replayed by the resume: the main
    process (``num_workers=0``) or non-persistent workers for epoch-based
    loops; workers (``num_workers>0``) for iteration-based loops, which
    re-read the skipped batches on resume.
    """
    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._pending: Optional[Dict[str, Any]] = None
        self._before_val: Optional[Dict[str, Any]] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # During validation (MMEngine saves the best checkpoint and re-saves
        # the last one there), store the training stream, not val's.
        checkpoint[RNG_KEY] = self._before_val or capture_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Restore only when resuming, and only once the loops are built
        # and the runner has re-seeded itself: at the next training start.
        if getattr(runner, '_resume', False) and RNG_KEY in checkpoint:
            self._pending = checkpoint[RNG_KEY]

    def before_train_epoch(self, runner) -> None:
        if self._pending is not None:
            restore_rng_state(self._pending)
            self._pending = None
            runner.logger.info('Random generators restored from the '
                               'resumed checkpoint.')

    def before_val(self, runner) -> None:
        self._before_val = capture_rng_state()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            restore_rng_state(self._before_val)
            self._before_val = None
