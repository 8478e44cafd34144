"""The graph that is exported: LeMeViT's blocks as its CPU fast path
computes them.

PyTorch runs LeMeViT's blocks rewritten for inference
(:func:`lemevit_mm.models.utils.fast_inference.lemevit_block`): the
projections of the many image tokens are folded into the few meta
tokens, the position encoding is one convolution. A plain export traces
the paper's layers instead (the rewrites are switched off while
tracing), so ONNX Runtime and OpenVINO would compute every projection of
every image token. :func:`folded_blocks` makes the export trace the
rewritten blocks, whose fused kernels fall back to standard operators
while tracing: fewer operations, the same numbers up to float32 rounding.
"""
import contextlib
import types
from typing import Iterator, Optional, Tuple

import torch.nn as nn
from torch import Tensor

__all__ = ['folded_blocks']


def _folded_forward(self, x: Tensor, meta: Optional[Tensor],
                    update_meta: bool = True
                    ) -> Tuple[Tensor, Optional[Tensor]]:
    from ..models.utils import fast_inference
    return fast_inference.lemevit_block(self, x, meta, update_meta)


@contextlib.contextmanager
def folded_blocks(model: nn.Module, enabled: bool = True
                  ) -> Iterator[int]:
    """Within the context, every ``LeMeViTBlock`` of ``model`` in eval
    mode runs the fast path's rewritten block (also while traced);
    yields how many blocks it changed."""
    from ..models.backbones.lemevit import LeMeViTBlock
    patched = []
    if enabled:
        for module in model.modules():
            if isinstance(module, LeMeViTBlock) and not module.training:
                module.forward = types.MethodType(_folded_forward, module)
                patched.append(module)
    try:
        yield len(patched)
    finally:
        for module in patched:
            del module.forward
