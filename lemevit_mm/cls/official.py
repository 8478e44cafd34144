"""The authors' LeMeViT classifier checkpoints, in this project's names.

The authors' classifier is the backbone plus ``norm.*`` (BatchNorm2d of
the last map), ``norm_c.*`` (LayerNorm of the meta tokens) and ``head.*``
(the Linear layer). In an mmpretrain ``ImageClassifier`` they are
``neck.norm_x.*``, ``neck.norm_meta.*`` and ``head.fc.*``; backbone names
convert with :func:`~lemevit_mm.models.backbones.lemevit.convert_official_key`.
"""
import re
from typing import Dict, Optional

from torch import Tensor

from ..models.backbones.lemevit import (LeMeViT, convert_official_key,
                                        is_official_key)

CONVERTER = 'tools/model_converters/lemevit_official.py'

# The authors' classifier-head names -> ours, by prefix.
OFFICIAL_HEAD_MAP = {
    'norm.': 'neck.norm_x.',
    'norm_c.': 'neck.norm_meta.',
    'head.': 'head.fc.',
}
# Wrappers that timm-style trainers put around the weights.
WRAPPER_KEYS = ('state_dict_ema', 'state_dict', 'model', 'module')


def looks_official(state: Dict[str, object]) -> bool:
    """Whether a flat state dict holds weights in the authors' layout."""
    return any(is_official_key(re.sub(r'^module\.', '', key))
               for key in state)


def nested_official(checkpoint: Dict[str, object]) -> Optional[str]:
    """The wrapper key (``model``, ``state_dict_ema``, ...) under which a
    checkpoint keeps authors'-layout weights, or None."""
    for key in WRAPPER_KEYS:
        inner = checkpoint.get(key)
        if isinstance(inner, dict) and looks_official(inner):
            return key
    return None


def convert_official_classifier(state: Dict[str, Tensor]
                                ) -> Dict[str, Tensor]:
    """Rename an authors' classifier state dict to an ``ImageClassifier``
    with a ``LeMeViT`` backbone, a ``LeMeViTPooling`` neck and a
    ``LinearClsHead``.

    Args:
        state (dict[str, Tensor]): Flat weights in the authors' layout,
            with or without a DDP ``module.`` prefix.

    Returns:
        dict[str, Tensor]: The same tensors under this project's names.
    """
    converted = {}
    for key, value in state.items():
        key = re.sub(r'^module\.', '', key)
        for old, new in OFFICIAL_HEAD_MAP.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        else:
            key = 'backbone.' + convert_official_key(key)
        converted[key] = value
    return converted


def infer_arch(state: Dict[str, Tensor]) -> object:
    """The ``arch`` of an authors' LeMeViT state dict: ``'tiny'``,
    ``'small'``, ``'base'`` or a dict of ``embed_dims`` and ``depths``.

    Raises:
        ValueError: The weights do not describe a LeMeViT backbone.
    """
    dims, depths = [], []
    for stage in range(5):
        proj = state.get(f'meta_token_downsample.{stage}.4.weight')
        blocks = {int(m.group(1)) for m in (
            re.match(rf'^stages\.{stage}\.(\d+)\.', key) for key in state)
            if m}
        if proj is None or not blocks:
            raise ValueError(
                f'stage {stage} is missing (no meta_token_downsample.'
                f'{stage}.4.weight or no stages.{stage}.<block>.* weight).')
        dims.append(int(proj.shape[0]))
        depths.append(max(blocks) + 1)
    for name in ('tiny', 'small', 'base'):
        zoo = LeMeViT.arch_zoo[name]
        if zoo['embed_dims'] == dims and zoo['depths'] == depths:
            return name
    return dict(embed_dims=dims, depths=depths)
