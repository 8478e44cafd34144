"""Runtime parts shared by every task: crash-safe checkpoint files and
exact resuming."""
from .fileio import ATOMIC_BACKEND, AtomicLocalBackend, write_atomically
from .hooks import RandomStateHook, capture_rng_state, restore_rng_state
from .wrappers import CPUDistributedDataParallel

__all__ = [
    'ATOMIC_BACKEND', 'AtomicLocalBackend', 'CPUDistributedDataParallel',
    'RandomStateHook', 'capture_rng_state', 'restore_rng_state',
    'write_atomically'
]
