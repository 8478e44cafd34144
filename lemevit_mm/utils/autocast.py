"""The autocast policy of the project: which dtype mixed precision runs
in on which device, and where it is not worth it.

- CUDA: float16 autocast.
- CPU: bfloat16 autocast, but only on a CPU with native bfloat16 kernels
  (oneDNN with AVX-512 BF16 / AMX). Elsewhere bf16 is emulated and about
  10x slower than float32: :func:`resolve_amp` then turns it off with a
  warning.

Scene inference (:mod:`lemevit_mm.apis`), the benchmarks and the GPU
check take their autocast from here.
"""
import contextlib
import logging
from typing import ContextManager, Union

import torch
from mmengine.logging import print_log

__all__ = [
    'ONEDNN', 'ONEDNN_DTYPES', 'device_type', 'native_bf16', 'amp_dtype',
    'resolve_amp', 'autocast', 'null_or_autocast', 'precision_name'
]

Device = Union[str, torch.device]

# oneDNN's fused linear and convolution (bias, GELU, residual in one
# kernel), when built in, and the dtypes it has kernels for on this CPU:
# bfloat16 needs AVX-512 (without it, oneDNN refuses to build the kernel).
# The fast inference path of the backbone takes them from here.
ONEDNN = torch.backends.mkldnn.is_available() and hasattr(
    torch.ops.mkldnn, '_linear_pointwise') and hasattr(
        torch.ops.mkldnn, '_convolution_pointwise')
ONEDNN_DTYPES = (torch.float32, ) + (
    (torch.bfloat16, ) if ONEDNN and torch.ops.mkldnn.
    _is_mkldnn_bf16_supported() else ())


def device_type(device: Device) -> str:
    """``'cpu'``, ``'cuda'``, ... of ``'cuda:1'`` or a ``torch.device``."""
    return torch.device(device).type


def native_bf16() -> bool:
    """Whether this CPU runs bfloat16 natively (oneDNN has bf16 kernels
    here), so that bf16 autocast is faster than float32."""
    return torch.bfloat16 in ONEDNN_DTYPES


def amp_dtype(device: Device) -> torch.dtype:
    """The autocast dtype of a device: float16 on CUDA, bfloat16
    elsewhere."""
    return torch.float16 if device_type(device) == 'cuda' else \
        torch.bfloat16


def resolve_amp(amp: bool, device: Device, warn: bool = True) -> bool:
    """Whether to autocast when ``amp`` is asked for on ``device``: not on
    a CPU without native bfloat16 (logged as a warning if ``warn``)."""
    if amp and device_type(device) == 'cpu' and not native_bf16():
        if warn:
            print_log(
                'amp: this CPU has no native bfloat16 (AVX-512), where '
                'bf16 autocast is emulated and about 10x slower than '
                'float32: running in float32', logger='current',
                level=logging.WARNING)
        return False
    return bool(amp)


def autocast(device: Device, enabled: bool) -> ContextManager:
    """The autocast context of ``device``: :func:`amp_dtype` when
    ``enabled``, else autocast explicitly off (also inside an enclosing
    autocast region)."""
    kind = device_type(device)
    if not enabled:
        return torch.autocast(kind, enabled=False)
    return torch.autocast(kind, dtype=amp_dtype(kind))


def precision_name(device: Device, amp: bool) -> str:
    """How a benchmark table names the precision: ``'fp32'``, ``'bf16
    autocast'`` (CPU) or ``'fp16 autocast'`` (CUDA)."""
    if not amp:
        return 'fp32'
    return 'fp16 autocast' if device_type(device) == 'cuda' else \
        'bf16 autocast'


def null_or_autocast(device: Device, enabled: bool) -> ContextManager:
    """As :func:`autocast`, but nothing at all when not ``enabled`` (for
    timing loops that never run inside another autocast)."""
    return autocast(device, True) if enabled else contextlib.nullcontext()
