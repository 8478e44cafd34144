"""LeMeViT checkpoints: the authors' layout and its conversion to ours.

The one module that knows how the authors' released files are laid out:

- **Wrapper keys.** Their timm trainer keeps the weights under
  ``state_dict_ema`` (the EMA copy, preferred), ``state_dict`` or
  ``model`` (:data:`WRAPPER_KEYS`; MMEngine checkpoints use
  ``state_dict`` too), or the file is a bare state dict.
- **Prefixes.** Names may start with DDP's ``module.`` and, in
  downstream checkpoints, ``backbone.``.
- **Names.** :data:`OFFICIAL_KEY_MAP` renames their backbone
  (``downsample_layers.*``, ``meta_token_downsample.*``,
  ``stages.<i>.<j>.*``) to :class:`LeMeViT`'s, and
  :data:`OFFICIAL_HEAD_MAP` their classifier head (``norm.*``, the
  BatchNorm2d of the last map; ``norm_c.*``, the LayerNorm of the meta
  tokens; ``head.*``, the Linear layer) to an ``ImageClassifier`` with a
  ``LeMeViTPooling`` neck and a ``LinearClsHead``
  (:func:`~lemevit_mm.models.lemevit_classifier.lemevit_classifier`).

Everything that reads such files goes through here: the backbone's
``init_cfg`` (:func:`load_pretrained_backbone`), ``LeMeViTClassifier`` and
``LeMeViTEMAHook`` (which convert on the fly or point to the converter),
the seeded reference, and the converters
``tools/model_converters/lemevit_official.py`` (:func:`convert_checkpoint`)
and ``tools/model_converters/lemevit_adapt_channels.py``
(:func:`adapt_checkpoint`), thin command lines over these functions.
"""
import os
import os.path as osp
import re
import time
from typing import (TYPE_CHECKING, Any, Dict, List, Optional, Sequence,
                    Tuple, Union)

from torch import Tensor

from ..utils.checkpoint import (load_weights, select_state_dict,
                                state_dict_key, strip_module_prefix)
from .utils.channel_adaptation import (DEFAULT_ADAPT_MODE, adapt_stem_state,
                                       describe_adaptation, parse_rgb_bands,
                                       stem_mismatch_hint)

if TYPE_CHECKING:  # the backbone imports this module
    from .backbones.lemevit import LeMeViT

# The command line that converts an authors' file (named in errors).
CONVERTER = 'tools/model_converters/lemevit_official.py'
# The command line that adapts a checkpoint's stem to N bands.
ADAPT_CONVERTER = 'tools/model_converters/lemevit_adapt_channels.py'
# A LeMeViT stem convolution's weight, under any prefix.
STEM_PATTERN = re.compile(r'^(?:.*\.)?stem\.0\.weight$')
# Wrappers that timm-style trainers put around the weights, searched in
# this order for authors'-layout weights.
WRAPPER_KEYS = ('state_dict_ema', 'state_dict', 'model', 'module')
# The authors' backbone parameter names -> ours, applied in order.
OFFICIAL_KEY_MAP = (
    (r'^downsample_layers\.0\.', 'stem.'),
    (r'^downsample_layers\.(\d+)\.', r'stages.\1.downsample.'),
    (r'^meta_token_downsample\.(\d+)\.', r'stages.\1.meta_proj.'),
    (r'^stages\.(\d+)\.(\d+)\.', r'stages.\1.blocks.\2.'),
    (r'\.pos_embed\.', '.cpe.'),
    (r'\.attn\.qkv1\.', '.attn.qkv_x.'),
    (r'\.attn\.qkv2\.', '.attn.qkv_c.'),
    (r'\.mlp\.0\.', '.mlp.fc1.'),
    (r'\.mlp\.3\.', '.mlp.fc2.'),
)
# The authors' classifier-head prefixes -> ours, by prefix.
OFFICIAL_HEAD_MAP = {
    'norm.': 'neck.norm_x.',
    'norm_c.': 'neck.norm_meta.',
    'head.': 'head.fc.',
}
# Weights of the authors' classifier head (see ``LeMeViTPooling``).
OFFICIAL_HEAD_KEYS = tuple(OFFICIAL_HEAD_MAP)
# The keys of a ``dict(type='Pretrained', ...)`` init_cfg of LeMeViT.
PRETRAINED_KEYS = frozenset(
    {'type', 'checkpoint', 'prefix', 'adapt_channels', 'rgb_bands'})

Arch = Union[str, Dict[str, List[int]]]


class NotOfficialError(ValueError):
    """The input is not an authors' LeMeViT checkpoint."""


def is_official_key(key: str) -> bool:
    """Whether a parameter name is in the authors' backbone layout."""
    return re.match(r'^(downsample_layers|meta_token_downsample|'
                    r'stages\.\d+\.\d+\.)', key) is not None


def convert_official_key(key: str) -> str:
    """Rename one backbone parameter of the authors' layout to ours (other
    names stay)."""
    if not is_official_key(key):
        return key
    for pattern, replacement in OFFICIAL_KEY_MAP:
        key = re.sub(pattern, replacement, key)
    return key


def looks_official(state: Dict[str, Any]) -> bool:
    """Whether a flat state dict holds weights in the authors' layout
    (with or without a DDP ``module.`` prefix)."""
    return any(is_official_key(key) for key in strip_module_prefix(state))


def nested_official(checkpoint: Dict[str, Any]) -> Optional[str]:
    """The wrapper key (``model``, ``state_dict_ema``, ...) under which a
    checkpoint keeps authors'-layout weights, or None."""
    for key in WRAPPER_KEYS:
        inner = checkpoint.get(key)
        if isinstance(inner, dict) and looks_official(inner):
            return key
    return None


def convert_official_backbone(state: Dict[str, Tensor]
                              ) -> Dict[str, Tensor]:
    """The backbone part of an authors'-layout state dict (with or without
    a ``module.`` prefix), in :class:`LeMeViT`'s names."""
    return {convert_official_key(key): value
            for key, value in strip_module_prefix(state).items()
            if not key.startswith(OFFICIAL_HEAD_KEYS)}


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
    for key, value in strip_module_prefix(state).items():
        for old, new in OFFICIAL_HEAD_MAP.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        else:
            key = 'backbone.' + convert_official_key(key)
        converted[key] = value
    return converted


def select_prefix(state: Dict[str, Tensor],
                  prefix: Optional[str] = None) -> Dict[str, Tensor]:
    """Drop a DDP ``module.`` prefix, then keep the weights under
    ``prefix`` (or under ``backbone.`` if there are any) without it.

    Raises:
        ValueError: No weight starts with ``prefix``.
    """
    state = strip_module_prefix(state)
    if prefix is None and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    if not prefix:
        return state
    if not prefix.endswith('.'):
        prefix += '.'
    selected = {k[len(prefix):]: v for k, v in state.items()
                if k.startswith(prefix)}
    if not selected:
        raise ValueError(f'No weight starts with prefix {prefix!r} (first '
                         f'keys: {list(state)[:5]}).')
    return selected


def backbone_state_dict(checkpoint: str, prefix: Optional[str] = None
                        ) -> Dict[str, Tensor]:
    """The LeMeViT weights of a checkpoint file in our names: the
    authors' (converted) or this project's, with the prefixes of
    :func:`select_prefix` removed."""
    state = select_state_dict(load_weights(checkpoint), checkpoint)
    state = select_prefix(state, prefix)
    return {convert_official_key(k): v for k, v in state.items()}


def load_pretrained_backbone(
        backbone: 'LeMeViT', checkpoint: str, prefix: Optional[str] = None,
        adapt_channels: Optional[str] = None,
        rgb_bands: Optional[Sequence[Optional[int]]] = None) -> None:
    """Load a LeMeViT checkpoint into ``backbone`` and log what fitted;
    see :meth:`LeMeViT.load_pretrained` for the arguments.

    Raises:
        FileNotFoundError: ``checkpoint`` does not exist.
        ValueError: It holds no LeMeViT weight, or weights of other
            shapes (names them, with a hint for an RGB stem).
    """
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    state = backbone_state_dict(checkpoint, prefix)
    state, adaptation = adapt_stem_state(
        state, backbone.in_channels, adapt_channels, rgb_bands, checkpoint)
    own = backbone.state_dict()
    matched = {k: v for k, v in state.items() if k in own}
    if not matched:
        raise ValueError(
            f'{checkpoint} holds no LeMeViT backbone weight (first keys: '
            f'{list(state)[:5]}); is it a LeMeViT checkpoint?')
    wrong = [f'{k}: checkpoint {tuple(v.shape)}, model '
             f'{tuple(own[k].shape)}' for k, v in matched.items()
             if v.shape != own[k].shape]
    if wrong:
        raise ValueError(
            f'{checkpoint} does not fit this LeMeViT (embed_dims='
            f'{backbone.embed_dims}, depths={backbone.depths}, in_channels='
            f'{backbone.in_channels}); {len(wrong)} shapes differ, e.g. '
            + '; '.join(wrong[:3]) + '.'
            + stem_mismatch_hint(state, backbone.in_channels))
    missing = sorted(set(own) - set(matched))
    head = [k for k in state if k not in own
            and k.startswith(OFFICIAL_HEAD_KEYS)]
    unexpected = sorted(set(state) - set(own) - set(head))
    backbone.load_state_dict(matched, strict=False)
    logger.info(
        f'LeMeViT: loaded {len(matched)}/{len(own)} weights from '
        f'{checkpoint}; missing: {len(missing)}, unexpected: '
        f'{len(unexpected)}, classifier-head weights ignored: '
        f'{len(head)}.')
    if adaptation:
        logger.info(f'LeMeViT: {adaptation}.')
        zero_bands = [band for band in range(backbone.in_channels)
                      if not backbone.stem[0].weight[:, band].any()]
        if zero_bands and backbone.frozen_stages >= 0:
            logger.warning(
                'LeMeViT: the stem is frozen (frozen_stages='
                f'{backbone.frozen_stages}), so the zero filters of bands '
                f'{zero_bands} never train: those bands are ignored. '
                "Use adapt_channels='mean' or train the stem.")
    if missing:
        logger.warning(f'LeMeViT: weights missing in {checkpoint}: '
                       f'{missing}')
    if unexpected:
        logger.warning(f'LeMeViT: unexpected weights in {checkpoint}: '
                       f'{unexpected}')


def infer_arch(state: Dict[str, Tensor]) -> Arch:
    """The ``arch`` of an authors' LeMeViT state dict: ``'tiny'``,
    ``'small'``, ``'base'`` or a dict of ``embed_dims`` and ``depths``.

    Raises:
        ValueError: The weights do not describe a LeMeViT backbone.
    """
    from .backbones.lemevit import LeMeViT
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


def read_official_state_dict(path: str) -> Tuple[Dict[str, Tensor], str]:
    """The authors' weights in ``path`` and where they were found
    (a wrapper key or ``'top level'``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        NotOfficialError: It is not an authors' LeMeViT checkpoint (or
            not a readable checkpoint at all).
    """
    try:
        checkpoint = load_weights(path)
        state = select_state_dict(checkpoint, path)
    except (ValueError, RuntimeError) as error:
        raise NotOfficialError(str(error)) from None
    source = state_dict_key(checkpoint) or 'top level'
    if not looks_official(state):
        hint = ''
        if any(key.startswith('backbone.stem.') for key in state):
            hint = ' It looks already converted (backbone.stem.* names).'
        raise NotOfficialError(
            f'{path} is not an authors\' LeMeViT checkpoint: none of its '
            f'{len(state)} weights is named downsample_layers.*, '
            f'meta_token_downsample.* or stages.<i>.<j>.* (first keys: '
            f'{list(state)[:4]}).{hint}')
    return state, source


def check_complete(converted: Dict[str, Tensor], arch: Arch,
                   path: str) -> List[str]:
    """Compare a converted classifier's backbone with a freshly built
    LeMeViT of ``arch``; return the names of the other (head) weights.

    Raises:
        NotOfficialError: Weights are missing, unexpected or of another
            shape.
    """
    from .lemevit_classifier import lemevit_backbone
    backbone = lemevit_backbone(arch).state_dict()
    ours = {key[len('backbone.'):]: value for key, value in converted.items()
            if key.startswith('backbone.')}
    missing = sorted(set(backbone) - set(ours))
    unexpected = sorted(set(ours) - set(backbone))
    wrong = [f'{key}: {tuple(ours[key].shape)} vs '
             f'{tuple(backbone[key].shape)}' for key in backbone
             if key in ours and ours[key].shape != backbone[key].shape]
    if missing or unexpected or wrong:
        raise NotOfficialError(
            f'{path} is not a complete LeMeViT ({arch}) checkpoint: '
            f'missing {missing[:5]}, unexpected {unexpected[:5]}, '
            f'wrong shapes {wrong[:3]}.')
    return sorted(key for key in converted if not key.startswith('backbone.'))


def convert_checkpoint(src: str, dst: str) -> dict:
    """Convert the authors' checkpoint ``src`` to an MMEngine checkpoint
    ``dst`` (written atomically) in the names of this project's
    classifier; the EMA copy is taken when the file has one.

    Returns:
        dict: The ``meta`` written: ``arch``, ``num_classes``, ``source``,
        ``source_weights``, ``head_weights``, ``converted_by``, ``time``.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        NotOfficialError: ``src`` is not a complete authors' checkpoint.
    """
    import torch

    from ..io.atomic import write_atomically
    state, source = read_official_state_dict(src)
    converted = convert_official_classifier(state)
    try:
        arch = infer_arch(state)
    except ValueError as error:
        raise NotOfficialError(f'{src}: {error}') from None
    head = check_complete(converted, arch, src)
    num_classes = None
    if 'head.fc.weight' in converted:
        num_classes = int(converted['head.fc.weight'].shape[0])
    meta = dict(
        arch=arch,
        num_classes=num_classes,
        source=osp.abspath(src),
        source_weights=source,
        head_weights=head,
        converted_by=CONVERTER,
        time=time.strftime('%Y-%m-%d %H:%M:%S'))
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    write_atomically(
        dst, lambda tmp: torch.save(dict(state_dict=converted, meta=meta),
                                    tmp))
    return meta


def stem_keys(state: Dict[str, Tensor]) -> List[str]:
    """The names of every LeMeViT stem convolution weight in ``state``."""
    return [key for key in state if STEM_PATTERN.match(key)
            and state[key].dim() == 4]


def adapt_checkpoint(src: str, dst: str, in_channels: int,
                     mode: str = DEFAULT_ADAPT_MODE,
                     rgb_bands: Optional[Sequence[Optional[int]]] = None
                     ) -> dict:
    """Adapt every LeMeViT stem of ``src`` (an authors' file, converted
    on the way, or an MMEngine checkpoint of any task) to ``in_channels``
    bands as ``init_cfg=dict(adapt_channels=mode)`` would, and write
    ``dst`` atomically (weights and ``meta``, no optimizer state).

    Returns:
        dict: The ``meta`` written (the source's, plus the adaptation).

    Raises:
        ValueError: ``src`` holds no RGB LeMeViT stem, or the settings are
            invalid.
    """
    import torch

    from ..io.atomic import write_atomically
    checkpoint = load_weights(src)
    state = select_state_dict(checkpoint, src)
    official = looks_official(state)
    if official:
        state = convert_official_classifier(state)
    keys = stem_keys(state)
    if not keys:
        raise ValueError(
            f'{src} holds no LeMeViT stem (no *stem.0.weight, no '
            f'downsample_layers.0.0.weight; first keys: {list(state)[:4]}).')
    bands = parse_rgb_bands(rgb_bands, in_channels, mode, '--rgb-bands')
    for key in keys:
        if state[key].shape[1] != 3:
            raise ValueError(
                f'{src}: {key} has {state[key].shape[1]} input channels; '
                'only RGB (3-channel) stems are adapted.')
        state, _ = adapt_stem_state(state, in_channels, mode, bands, src,
                                    key=key)
    source_meta = checkpoint.get('meta') if isinstance(checkpoint,
                                                       dict) else None
    meta = dict(source_meta) if isinstance(source_meta, dict) else {}
    meta.update(
        in_channels=in_channels,
        adapt_channels=mode,
        rgb_bands=list(bands),
        adapted_weights=keys,
        adaptation=describe_adaptation(in_channels, mode, bands),
        adapted_from=osp.abspath(src),
        source_layout='authors' if official else 'mmengine',
        adapted_by=ADAPT_CONVERTER,
        adapted_time=time.strftime('%Y-%m-%d %H:%M:%S'))
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    write_atomically(
        dst, lambda tmp: torch.save(dict(state_dict=state, meta=meta), tmp))
    return meta
