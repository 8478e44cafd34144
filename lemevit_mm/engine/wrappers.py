"""Data-parallel training on CPU processes."""
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for processes without a GPU (gloo).

    MMEngine's runner always passes ``device_ids=[LOCAL_RANK]``, which
    PyTorch's DDP accepts only for CUDA modules; this wrapper drops them.

    Args:
        module (nn.Module): The model to wrap.
        device_ids (Sequence[int], optional): Ignored.
        **kwargs: Arguments of ``MMDistributedDataParallel``.
    """

    def __init__(self, module: nn.Module,
                 device_ids: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        super().__init__(module=module, **kwargs)
