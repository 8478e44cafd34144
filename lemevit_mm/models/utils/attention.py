"""Multi-head softmax attention behind one switch of backends.

Every LeMeViT attention layer calls :func:`multi_head_attention`, so the
backend is chosen in one place:

- ``'sdpa'``: :func:`torch.nn.functional.scaled_dot_product_attention`.
- ``'math'``: the explicit ``softmax(q @ k^T * scale) @ v``; the reference.
- ``'flash'``: ``flash_attn.flash_attn_func`` (CUDA, fp16/bf16 only).
- ``'xformers'``: ``xformers.ops.memory_efficient_attention`` (CUDA).
- ``'auto'``: flash-attn on a CUDA machine where it is installed, else
  ``'sdpa'``.

The environment variable ``LEMEVIT_ATTN_BACKEND`` overrides the backend
given in a config. A call that an optional kernel cannot serve (a CPU
tensor, float32 for flash-attn) falls back to ``'sdpa'`` and warns once.
All backends take an explicit ``scale``, so LeMeViT's unusual softmax
scales are honoured everywhere.
"""
import importlib.util
import os
import warnings
from typing import Set, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

ATTN_BACKENDS = ('auto', 'sdpa', 'math', 'flash', 'xformers')
ATTN_BACKEND_ENV = 'LEMEVIT_ATTN_BACKEND'
_OPTIONAL_PACKAGES = {'flash': 'flash_attn', 'xformers': 'xformers'}
_warned: Set[Tuple[str, str]] = set()


def backend_installed(backend: str) -> bool:
    """Whether the package behind an optional backend can be imported."""
    package = _OPTIONAL_PACKAGES.get(backend)
    return package is None or importlib.util.find_spec(package) is not None


def resolve_attn_backend(backend: str = 'auto') -> str:
    """Turn a requested backend into the one that will run.

    Args:
        backend (str): One of :data:`ATTN_BACKENDS`. The environment
            variable ``LEMEVIT_ATTN_BACKEND``, when set, wins over it.
            Defaults to 'auto'.

    Returns:
        str: ``'sdpa'``, ``'math'``, ``'flash'`` or ``'xformers'``.
    """
    backend = os.environ.get(ATTN_BACKEND_ENV) or backend
    if backend not in ATTN_BACKENDS:
        raise ValueError(f'Unknown attention backend {backend!r}; expected '
                         f'one of {ATTN_BACKENDS}.')
    if backend == 'auto':
        if torch.cuda.is_available() and backend_installed('flash'):
            return 'flash'
        return 'sdpa'
    if not backend_installed(backend):
        package = _OPTIONAL_PACKAGES[backend]
        raise ImportError(
            f'attn_backend={backend!r} needs the {package!r} package, which '
            f'is not installed (pip install "lemevit_mm[{backend}]"); use '
            "'auto' to pick the fastest installed backend.")
    return backend


def _unsupported_reason(backend: str, q: Tensor) -> str:
    """Why an optional kernel cannot take ``q``; empty when it can."""
    if not q.is_cuda:
        return 'it runs on CUDA tensors only'
    if backend == 'flash' and q.dtype not in (torch.float16, torch.bfloat16):
        return 'flash-attn takes float16/bfloat16 only'
    return ''


def multi_head_attention(q: Tensor, k: Tensor, v: Tensor, scale: float,
                         backend: str = 'sdpa') -> Tensor:
    """Softmax attention over heads.

    Args:
        q (Tensor): Queries, ``(B, heads, Nq, head_dim)``.
        k (Tensor): Keys, ``(B, heads, Nk, head_dim)``.
        v (Tensor): Values, ``(B, heads, Nk, head_dim)``.
        scale (float): Factor on ``q @ k^T`` before the softmax.
        backend (str): A resolved backend (see :func:`resolve_attn_backend`).
            Defaults to 'sdpa'.

    Returns:
        Tensor: ``(B, heads, Nq, head_dim)``.
    """
    if backend in _OPTIONAL_PACKAGES:
        reason = _unsupported_reason(backend, q)
        if reason:
            if (backend, reason) not in _warned:
                _warned.add((backend, reason))
                warnings.warn(f'attention backend {backend!r} falls back to '
                              f"'sdpa': {reason}.")
            backend = 'sdpa'
    if backend == 'sdpa':
        return F.scaled_dot_product_attention(q, k, v, scale=scale)
    if backend == 'math':
        attn = (q @ k.transpose(-2, -1)) * scale
        return attn.softmax(dim=-1) @ v
    # The optional kernels take (B, N, heads, head_dim).
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    if backend == 'flash':
        from flash_attn import flash_attn_func
        out = flash_attn_func(q, k, v, softmax_scale=scale)
    elif backend == 'xformers':
        from xformers.ops import memory_efficient_attention
        out = memory_efficient_attention(q, k, v, scale=scale)
    else:
        raise ValueError(f'Unknown attention backend {backend!r}.')
    return out.transpose(1, 2)


def split_heads(tokens: Tensor, num_parts: int,
                num_heads: int) -> Tuple[Tensor, ...]:
    """Split a ``(B, N, parts*C)`` projection into ``parts`` tensors of
    shape ``(B, heads, N, C/heads)`` (parts outermost, then heads)."""
    batch, length, _ = tokens.shape
    return tokens.view(batch, length, num_parts, num_heads,
                       -1).permute(2, 0, 3, 1, 4).unbind(0)


def merge_heads(tokens: Tensor) -> Tensor:
    """``(B, heads, N, head_dim)`` -> ``(B, N, heads*head_dim)``."""
    batch, _, length, _ = tokens.shape
    return tokens.transpose(1, 2).reshape(batch, length, -1)
