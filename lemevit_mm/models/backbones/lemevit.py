"""LeMeViT: Efficient Vision Transformer with Learnable Meta Tokens.

Jiang et al., IJCAI 2024 (arXiv 2305.01443). The network keeps two
streams: image tokens ``x`` (a feature map) and a handful of learnable
meta tokens ``c``. Early stages replace dense self-attention by cheap
attention between the two streams:

- ``C`` (cross-attention) stage: the meta tokens read the image tokens;
  the image tokens pass through unchanged.
- ``D`` (dual cross-attention) stages: image tokens read the meta tokens
  and the meta tokens read the image tokens, in one layer.
- ``S`` (standard) stages: ordinary self-attention, applied to each
  stream with the same weights.

Internally, image tokens travel as ``(B, H, W, C)`` tensors, so the
token view ``(B, H*W, C)`` and the channels-last convolution view
``(B, C, H, W)`` are both free of copies.

The layers below are the paper's. The fast inference path
(:mod:`~lemevit_mm.models.utils.fast_inference`: folded projections,
folded batch norms, fused oneDNN kernels on the CPU; the same numbers
with less work) plugs in at one seam per unit: a block asks
:func:`~lemevit_mm.models.utils.fast_inference.rewrites_allowed` once per
call and then runs either as written here or as
:func:`~lemevit_mm.models.utils.fast_inference.lemevit_block`; the stem
and the downsampling layers run through
:func:`~lemevit_mm.models.utils.fast_inference.conv_bn_stack`, which folds
their batch norms where it may. The fast path runs wherever no autograd
graph is recorded (eager or torch.compile, not export or FLOP counting);
training runs the layers below.

Checkpoint loading and the authors' names live in
:mod:`~lemevit_mm.models.official_checkpoint`.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmengine.registry import MODELS
from torch import Tensor

from .. import official_checkpoint
# (OFFICIAL_HEAD_KEYS, convert_official_key, is_official_key: for imports
# from this module before the checkpoint layout moved out.)
from ..official_checkpoint import (OFFICIAL_HEAD_KEYS,  # noqa: F401
                                   PRETRAINED_KEYS, convert_official_key,
                                   is_official_key)
from ..utils import fast_inference
from ..utils.attention import (merge_heads, multi_head_attention,
                               resolve_attn_backend, split_heads)

ArchSetting = Dict[str, Sequence]


class Mlp(nn.Module):
    """Linear -> GELU -> Linear, with hidden width ``ratio * dim``."""

    def __init__(self, dim: int, ratio: float = 4.0) -> None:
        super().__init__()
        hidden = int(dim * ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        """``fc2(gelu(fc1(x)))``."""
        return self.fc2(self.act(self.fc1(x)))


class CrossAttention(nn.Module):
    """Meta tokens (queries) read image tokens (keys and values).

    Args:
        dim (int): Token width.
        head_dim (int): Width of one head. Defaults to 32.
        attn_backend (str): A resolved attention backend. Defaults to 'sdpa'.
    """

    def __init__(self, dim: int, head_dim: int = 32,
                 attn_backend: str = 'sdpa') -> None:
        super().__init__()
        self.num_heads = dim // head_dim
        self.scale = head_dim**-0.5
        self.attn_backend = attn_backend
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, meta: Tensor, image: Tensor) -> Tensor:
        """The meta-token update."""
        q, = split_heads(self.q(meta), 1, self.num_heads)
        k, v = split_heads(self.kv(image), 2, self.num_heads)
        return self.proj(merge_heads(multi_head_attention(
            q, k, v, self.scale, self.attn_backend)))

    def meta_attention(self, meta: Tensor, image: Tensor) -> Tensor:
        """Attention probabilities of the meta tokens over the image tokens,
        ``(B, heads, M, N)``, from the normalised inputs of ``forward``."""
        q, = split_heads(self.q(meta), 1, self.num_heads)
        k, _ = split_heads(self.kv(image), 2, self.num_heads)
        return ((q @ k.transpose(-2, -1)) * self.scale).softmax(-1)


class DualCrossAttention(nn.Module):
    """One layer, two directions: image tokens read meta tokens and meta
    tokens read image tokens.

    The softmax scales are those the released weights were trained with:
    ``C ** -0.5`` with ``C`` the whole width (not the head width), times
    ``log(M) / log(N)`` for the image-to-meta direction (``M`` meta and
    ``N`` image tokens).

    Args:
        dim (int): Token width.
        head_dim (int): Width of one head. Defaults to 32.
        attn_backend (str): A resolved attention backend. Defaults to 'sdpa'.
    """

    def __init__(self, dim: int, head_dim: int = 32,
                 attn_backend: str = 'sdpa') -> None:
        super().__init__()
        self.num_heads = dim // head_dim
        self.scale = dim**-0.5
        self.attn_backend = attn_backend
        self.qkv_x = nn.Linear(dim, 3 * dim)
        self.qkv_c = nn.Linear(dim, 3 * dim)
        self.proj_x = nn.Linear(dim, dim)
        self.proj_c = nn.Linear(dim, dim)

    def image_scale(self, num_image: Union[int, Tensor],
                    num_meta: Union[int, Tensor]) -> Union[float, Tensor]:
        """Softmax scale of the image-to-meta direction.

        A float for concrete sizes; a 0-d tensor for symbolic ones
        (torch.export, ONNX tracing), so that an exported graph computes it
        from the actual input size instead of freezing the traced one.
        """
        if isinstance(num_image, int) and isinstance(num_meta, int):
            return math.log(num_meta) / math.log(num_image) * self.scale
        num_image, num_meta = (torch.as_tensor(n, dtype=torch.float32)
                               for n in (num_image, num_meta))
        return torch.log(num_meta) / torch.log(num_image) * self.scale

    def forward(self, image: Tensor, meta: Tensor,
                update_meta: bool = True
                ) -> Tuple[Tensor, Optional[Tensor]]:
        """Return the image update and, if ``update_meta``, the meta
        update (else None, and the meta-token queries are not used)."""
        q_x, k_x, v_x = split_heads(self.qkv_x(image), 3, self.num_heads)
        q_c, k_c, v_c = split_heads(self.qkv_c(meta), 3, self.num_heads)
        num_image, num_meta = image.shape[1], meta.shape[1]
        if fast_inference.exporting():
            # Token counts as graph values, so that an exported graph
            # computes the scale from the actual input size.
            num_image = torch.ones_like(image[0, :, 0]).sum()
            num_meta = torch.ones_like(meta[0, :, 0]).sum()
        scale_x = self.image_scale(num_image, num_meta)
        if not isinstance(scale_x, float):
            # A symbolic scale goes into the queries: the kernels take a
            # float scale only.
            q_x, scale_x = q_x * scale_x.to(q_x.dtype), 1.0
        out_x = self.proj_x(merge_heads(multi_head_attention(
            q_x, k_c, v_c, scale_x, self.attn_backend)))
        if not update_meta:
            return out_x, None
        out_c = self.proj_c(merge_heads(multi_head_attention(
            q_c, k_x, v_x, self.scale, self.attn_backend)))
        return out_x, out_c

    def meta_attention(self, image: Tensor, meta: Tensor) -> Tensor:
        """Attention probabilities of the meta tokens over the image tokens,
        ``(B, heads, M, N)``, from the normalised inputs of ``forward``."""
        _, k_x, _ = split_heads(self.qkv_x(image), 3, self.num_heads)
        q_c, _, _ = split_heads(self.qkv_c(meta), 3, self.num_heads)
        return ((q_c @ k_x.transpose(-2, -1)) * self.scale).softmax(-1)


class SelfAttention(nn.Module):
    """Standard multi-head self-attention.

    Args:
        dim (int): Token width.
        head_dim (int): Width of one head. Defaults to 32.
        attn_backend (str): A resolved attention backend. Defaults to 'sdpa'.
    """

    def __init__(self, dim: int, head_dim: int = 32,
                 attn_backend: str = 'sdpa') -> None:
        super().__init__()
        self.num_heads = dim // head_dim
        self.scale = head_dim**-0.5
        self.attn_backend = attn_backend
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, tokens: Tensor) -> Tensor:
        """The update of ``tokens``."""
        q, k, v = split_heads(self.qkv(tokens), 3, self.num_heads)
        out = multi_head_attention(q, k, v, self.scale, self.attn_backend)
        return self.proj(merge_heads(out))


class LeMeViTBlock(nn.Module):
    """A pre-norm block of one attention type.

    The block first adds a conditional position encoding (depthwise 3x3
    convolution) to the image tokens. ``norm1``, ``norm2`` and the MLP are
    shared by the image and the meta stream.

    Args:
        dim (int): Token width.
        attn_type (str): ``'C'``, ``'D'`` or ``'S'``.
        drop_path (float): Stochastic depth rate. Defaults to 0.
        mlp_ratio (float): MLP hidden width ratio. Defaults to 4.
        head_dim (int): Width of one head. Defaults to 32.
        attn_backend (str): A resolved attention backend. Defaults to 'sdpa'.
    """
    attn_classes = dict(C=CrossAttention, D=DualCrossAttention,
                        S=SelfAttention)

    def __init__(self, dim: int, attn_type: str, drop_path: float = 0.,
                 mlp_ratio: float = 4., head_dim: int = 32,
                 attn_backend: str = 'sdpa') -> None:
        super().__init__()
        self.attn_type = attn_type
        self.cpe = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = self.attn_classes[attn_type](dim, head_dim, attn_backend)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_ratio)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else \
            nn.Identity()

    def add_position_encoding(self, x: Tensor) -> Tensor:
        """``x + DWConv3x3(x)`` for ``(B, H, W, C)`` tokens."""
        return x + self.cpe(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

    def forward(self, x: Tensor, meta: Optional[Tensor],
                update_meta: bool = True
                ) -> Tuple[Tensor, Optional[Tensor]]:
        """Update the image tokens ``x`` (``(B, H, W, C)``) and the meta
        tokens ``meta`` (``(B, M, C)``).

        With ``update_meta=False`` the meta stream is neither computed nor
        returned (None), which C blocks do not allow.
        """
        if fast_inference.rewrites_allowed(self, x, meta):
            return fast_inference.lemevit_block(self, x, meta, update_meta)
        batch, height, width, dim = x.shape
        tokens = self.add_position_encoding(x).reshape(
            batch, height * width, dim)
        drop = self.drop_path
        if self.attn_type == 'C':
            # The image tokens are only read: x leaves unchanged.
            meta = meta + drop(self.attn(self.norm1(meta),
                                         self.norm1(tokens)))
            return x, meta + drop(self.mlp(self.norm2(meta)))
        if self.attn_type == 'D':
            out_x, out_c = self.attn(self.norm1(tokens), self.norm1(meta),
                                     update_meta)
        else:
            out_x = self.attn(self.norm1(tokens))
            out_c = self.attn(self.norm1(meta)) if update_meta else None
        tokens = tokens + drop(out_x)
        meta = meta + drop(out_c) if update_meta else None
        tokens = tokens + drop(self.mlp(self.norm2(tokens)))
        if update_meta:
            meta = meta + drop(self.mlp(self.norm2(meta)))
        return tokens.view(batch, height, width, dim), meta


class LeMeViTStage(nn.Module):
    """Downsampling of both streams followed by ``depth`` blocks.

    Args:
        in_dim (int): Width of the previous stage (of the stem for stage 0).
        dim (int): Width of this stage.
        depth (int): Number of blocks.
        attn_type (str): Block type, ``'C'``, ``'D'`` or ``'S'``.
        downsample (bool): Whether the image tokens are halved in size by a
            strided 3x3 convolution first.
        drop_path_rates (Sequence[float]): One stochastic depth rate per
            block.
        mlp_ratio (float): MLP hidden width ratio. Defaults to 4.
        head_dim (int): Width of one head. Defaults to 32.
        attn_backend (str): A resolved attention backend. Defaults to 'sdpa'.
    """

    def __init__(self, in_dim: int, dim: int, depth: int, attn_type: str,
                 downsample: bool, drop_path_rates: Sequence[float],
                 mlp_ratio: float = 4., head_dim: int = 32,
                 attn_backend: str = 'sdpa') -> None:
        super().__init__()
        self.downsample = nn.Sequential(
            nn.Conv2d(in_dim, dim, 3, stride=2, padding=1),
            nn.BatchNorm2d(dim)) if downsample else None
        self.meta_proj = nn.Sequential(
            nn.Linear(in_dim, 4 * in_dim), nn.LayerNorm(4 * in_dim),
            nn.GELU(), nn.Linear(4 * in_dim, dim), nn.LayerNorm(dim))
        self.blocks = nn.ModuleList(
            LeMeViTBlock(dim, attn_type, rate, mlp_ratio, head_dim,
                         attn_backend) for rate in drop_path_rates)
        self.with_cp = False

    def forward(self, x: Tensor, meta: Optional[Tensor],
                meta_needed: Sequence[bool]
                ) -> Tuple[Tensor, Optional[Tensor]]:
        """Run the stage; ``meta_needed[j]`` tells whether the meta tokens
        after block ``j`` are used later (the input ``meta`` is None when
        no block needs it)."""
        if self.downsample is not None:
            x = fast_inference.conv_bn_stack(
                x.permute(0, 3, 1, 2), self.downsample).permute(0, 2, 3, 1)
        if meta is not None:
            meta = self.meta_proj(meta)
        for block, update_meta in zip(self.blocks, meta_needed):
            if self.with_cp and x.requires_grad:
                x, meta = cp.checkpoint(
                    block, x, meta, update_meta, use_reentrant=False)
            else:
                x, meta = block(x, meta, update_meta)
        return x, meta


@MODELS.register_module()
class LeMeViT(BaseModule):
    """LeMeViT backbone.

    A PyTorch implementation of `LeMeViT: Efficient Vision Transformer with
    Learnable Meta Tokens for Remote Sensing Image Interpretation
    <https://arxiv.org/abs/2305.01443>`_ that loads the authors' released
    checkpoints and reproduces their outputs.

    Stages are numbered 0 to 4: stage 0 is the cross-attention stage (it
    only updates the meta tokens), stages 1-4 return maps of stride 4, 8,
    16 and 32. Only the stages up to ``max(out_indices)`` run, and the meta
    tokens only as far as the requested outputs need them; parameters that
    therefore cannot influence the outputs are kept (checkpoints load
    whole) but get ``requires_grad=False``.

    Args:
        arch (str | dict): ``'tiny'``, ``'small'``, ``'base'`` (or ``'t'``,
            ``'s'``, ``'b'``), or a dict with ``embed_dims`` and ``depths``
            (five entries each) and optionally ``attn_types`` (default
            ``'CDDSS'``), ``num_meta_tokens`` (16), ``head_dim`` (32) and
            ``mlp_ratio`` (4). Defaults to 'tiny'.
        in_channels (int): Number of input image channels. Defaults to 3.
        out_indices (Sequence[int] | int): Stages whose image-token maps are
            returned, from 1 to 4 (negative values count from the end).
            Defaults to (1, 2, 3, 4).
        out_meta_tokens (bool): Also return the meta tokens after the last
            computed stage, ``(B, M, C)``, as the last element of the output
            tuple (what the classifier neck ``LeMeViTPooling`` pools). Defaults
            to False.
        drop_path_rate (float): Stochastic depth rate, rising linearly over
            all blocks to this value. Defaults to 0.
        attn_backend (str): ``'auto'``, ``'sdpa'``, ``'math'``, ``'flash'``
            or ``'xformers'``; the environment variable
            ``LEMEVIT_ATTN_BACKEND`` overrides it. Defaults to 'auto'.
        frozen_stages (int): Freeze the stem, the meta tokens and stages
            0 to ``frozen_stages`` (no gradient, BatchNorm in eval mode);
            -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
            Defaults to False.
        with_cp (bool): Gradient checkpointing of every block (less memory,
            more compute). Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config. With
            ``dict(type='Pretrained', checkpoint=..., prefix=...)`` the
            checkpoint may be an authors' file or an MMEngine one; an RGB
            one loads into ``in_channels != 3`` with ``adapt_channels=
            'zero' | 'mean' | 'repeat'`` and optionally ``rgb_bands``; see
            :meth:`load_pretrained`. Defaults to None.
    """
    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], {
            'embed_dims': [64, 64, 128, 192, 320],
            'depths': [1, 2, 2, 8, 2]
        }),
        **dict.fromkeys(['s', 'small'], {
            'embed_dims': [96, 96, 192, 320, 384],
            'depths': [1, 2, 2, 6, 2]
        }),
        **dict.fromkeys(['b', 'base'], {
            'embed_dims': [96, 96, 192, 384, 512],
            'depths': [2, 4, 4, 18, 4]
        }),
    }
    arch_defaults = dict(attn_types='CDDSS', num_meta_tokens=16,
                         head_dim=32, mlp_ratio=4.)
    min_input_size = 32

    def __init__(self,
                 arch: Union[str, ArchSetting] = 'tiny',
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (1, 2, 3, 4),
                 out_meta_tokens: bool = False,
                 drop_path_rate: float = 0.,
                 attn_backend: str = 'auto',
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        setting = self.parse_arch(arch)
        self.embed_dims: List[int] = list(setting['embed_dims'])
        self.depths: List[int] = list(setting['depths'])
        self.attn_types: str = ''.join(setting['attn_types'])
        self.num_stages = len(self.depths)
        self.in_channels = in_channels
        self.out_indices = self.parse_out_indices(out_indices)
        self.out_meta_tokens = out_meta_tokens
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.attn_backend = resolve_attn_backend(attn_backend)

        stem_dim = self.embed_dims[0]
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_dim // 2, 3, stride=2, padding=1),
            nn.BatchNorm2d(stem_dim // 2), nn.GELU(),
            nn.Conv2d(stem_dim // 2, stem_dim, 3, stride=2, padding=1),
            nn.BatchNorm2d(stem_dim))
        self.meta_tokens = nn.Parameter(
            torch.randn(setting['num_meta_tokens'], stem_dim))

        rates = torch.linspace(0, drop_path_rate, sum(self.depths)).tolist()
        self.stages = nn.ModuleList()
        for i, (dim, depth) in enumerate(zip(self.embed_dims, self.depths)):
            in_dim = self.embed_dims[max(i - 1, 0)]
            stage = LeMeViTStage(
                in_dim, dim, depth, self.attn_types[i],
                downsample=i > 0 and self.attn_types[i - 1] != 'C',
                drop_path_rates=rates[sum(self.depths[:i]):][:depth],
                mlp_ratio=setting['mlp_ratio'],
                head_dim=setting['head_dim'],
                attn_backend=self.attn_backend)
            stage.with_cp = with_cp
            self.stages.append(stage)

        self.last_stage = max(self.out_indices)
        self.meta_until, self.meta_updates = self._plan_meta_stream()
        self.apply(self._init_from_scratch)
        self._disable_unused_parameters()
        self._freeze_stages()

    @classmethod
    def parse_arch(cls, arch: Union[str, ArchSetting]) -> dict:
        """Validate ``arch`` and return the full setting."""
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(
                    f'Unknown LeMeViT arch {arch!r}; expected one of '
                    f'{sorted(set(cls.arch_zoo))} or a dict.')
            arch = cls.arch_zoo[key]
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or a dict, got {arch!r}.')
        missing = {'embed_dims', 'depths'} - set(arch)
        if missing:
            raise ValueError(f'The arch dict lacks {sorted(missing)}; it '
                             'needs embed_dims and depths (five each).')
        unknown = set(arch) - {'embed_dims', 'depths'} - set(
            cls.arch_defaults)
        if unknown:
            raise ValueError(f'Unknown arch keys {sorted(unknown)}.')
        setting = {**cls.arch_defaults, **arch}
        dims, depths = setting['embed_dims'], setting['depths']
        types = ''.join(setting['attn_types'])
        if not len(dims) == len(depths) == len(types) == 5:
            raise ValueError(
                'embed_dims, depths and attn_types need five entries (one '
                f'per stage), got {len(dims)}, {len(depths)} and '
                f'{len(types)}.')
        if types[0] != 'C' or set(types[1:]) - {'D', 'S'}:
            raise ValueError("attn_types must be 'C' then 'D'/'S' stages, "
                             f'got {types!r}.')
        for i, dim in enumerate(dims):
            if dim % setting['head_dim']:
                raise ValueError(
                    f'embed_dims[{i}]={dim} is not a multiple of head_dim='
                    f"{setting['head_dim']}.")
        if dims[1] != dims[0]:
            raise ValueError('Stage 1 follows the C stage without '
                             f'downsampling, so embed_dims[1] ({dims[1]}) '
                             f'must equal embed_dims[0] ({dims[0]}).')
        return setting

    def parse_out_indices(
            self, out_indices: Union[int, Sequence[int]]) -> Tuple[int, ...]:
        """Normalise ``out_indices`` to sorted stage numbers in 1..4."""
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        parsed = sorted({i + self.num_stages if i < 0 else i
                         for i in out_indices})
        if not parsed or parsed[0] < 1 or parsed[-1] >= self.num_stages:
            raise ValueError(
                f'out_indices must be stages 1 to {self.num_stages - 1} '
                f'(stage 0 returns no map), got {tuple(out_indices)}.')
        return tuple(parsed)

    def _plan_meta_stream(self) -> Tuple[int, List[List[bool]]]:
        """Decide how far the meta stream must run.

        Returns:
            tuple: The last stage whose meta tokens are used (-1 if none),
            and for every block up to the last computed stage whether it
            must update the meta tokens.
        """
        if self.out_meta_tokens:
            meta_until = self.last_stage
        else:
            # Without returned meta tokens, only D stages read them.
            meta_until = max((i for i in range(self.last_stage + 1)
                              if self.attn_types[i] == 'D'), default=-1)
        updates = []
        for i in range(self.last_stage + 1):
            depth = self.depths[i]
            update = [i < meta_until] * depth
            if i == meta_until:
                # The last block's meta output is used only if returned.
                update = [True] * (depth - 1) + [self.out_meta_tokens]
            updates.append(update)
        return meta_until, updates

    @staticmethod
    def _init_from_scratch(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            trunc_normal_(module.weight, std=.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def _unused_parameters(self) -> List[nn.Parameter]:
        """Parameters that cannot influence the outputs as configured."""
        unused: List[nn.Module] = []
        for i, stage in enumerate(self.stages):
            if i > self.last_stage:
                unused.append(stage)
                continue
            if i > self.meta_until:
                unused.append(stage.meta_proj)
                if self.attn_types[i] == 'C':
                    unused.extend(stage.blocks)
            for block, update in zip(stage.blocks, self.meta_updates[i]):
                if self.attn_types[i] == 'D' and not update:
                    unused.append(block.attn.proj_c)
        params = [p for module in unused for p in module.parameters()]
        if self.meta_until < 0:
            params.append(self.meta_tokens)
        return params

    def _disable_unused_parameters(self) -> None:
        for param in self._unused_parameters():
            param.requires_grad_(False)

    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        return [self.stem, *self.stages[:self.frozen_stages + 1]]

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            self.meta_tokens.requires_grad_(False)
        for module in self._frozen_modules():
            module.eval()
            module.requires_grad_(False)

    def train(self, mode: bool = True) -> 'LeMeViT':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 4:
            raise ValueError('LeMeViT expects a 4-D (B, C, H, W) input, got '
                             f'shape {tuple(x.shape)}.')
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'LeMeViT was built for in_channels={self.in_channels}, got '
                f'an input with {x.shape[1]} channels (shape '
                f'{tuple(x.shape)}).')
        if min(x.shape[2:]) < self.min_input_size:
            raise ValueError(
                f'LeMeViT needs inputs of at least {self.min_input_size}x'
                f'{self.min_input_size} pixels, got {x.shape[2]}x'
                f'{x.shape[3]}.')

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Return the NCHW maps of ``out_indices`` (and, with
        ``out_meta_tokens``, the ``(B, M, C)`` meta tokens last)."""
        self._check_input(x)
        # Channels-last from the stem on: every convolution runs in the
        # layout oneDNN prefers and the (B, H, W, C) tokens are contiguous.
        x = fast_inference.conv_bn_stack(
            x.contiguous(memory_format=torch.channels_last), self.stem)
        x = x.permute(0, 2, 3, 1)
        meta = None
        if self.meta_until >= 0:
            meta = self.meta_tokens.expand(x.shape[0], -1, -1)
        outs = []
        for i in range(self.last_stage + 1):
            if i > self.meta_until and self.attn_types[i] == 'C':
                continue  # it would only update unused meta tokens
            x, meta = self.stages[i](x, meta, self.meta_updates[i])
            if i in self.out_indices:
                outs.append(x.permute(0, 3, 1, 2))
        if self.out_meta_tokens:
            outs.append(meta)
        return tuple(outs)

    def init_weights(self) -> None:
        """Load ``init_cfg``'s checkpoint if it is 'Pretrained', else apply
        MMEngine's initialisation (the default one is done at build)."""
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            unknown = set(cfg) - PRETRAINED_KEYS
            if unknown:
                raise ValueError(
                    f'Unknown LeMeViT init_cfg keys {sorted(unknown)}; a '
                    f'Pretrained init_cfg takes {sorted(PRETRAINED_KEYS)}.')
            self.load_pretrained(cfg['checkpoint'], prefix=cfg.get('prefix'),
                                 adapt_channels=cfg.get('adapt_channels'),
                                 rgb_bands=cfg.get('rgb_bands'))
            self._is_init = True
            return
        super().init_weights()

    def load_pretrained(
            self, checkpoint: str, prefix: Optional[str] = None,
            adapt_channels: Optional[str] = None,
            rgb_bands: Optional[Sequence[Optional[int]]] = None) -> None:
        """Load a LeMeViT checkpoint into this backbone.

        Accepts the authors' files (weights under ``model``,
        ``state_dict`` or ``state_dict_ema``, the EMA copy preferred, with
        or without ``module.``/``backbone.`` prefixes, names converted on
        the fly) and MMEngine checkpoints of this project. Weights of a
        classifier head are ignored.

        Args:
            checkpoint (str): Path or URL of the checkpoint.
            prefix (str, optional): Take only the weights under this prefix
                (e.g. ``'backbone.'``). Defaults to None: a ``backbone.``
                prefix is detected and stripped.
            adapt_channels (str, optional): ``'zero'``, ``'mean'`` or
                ``'repeat'``: adapt an RGB checkpoint's stem to
                ``in_channels`` bands (see
                :mod:`~lemevit_mm.models.utils.channel_adaptation`).
                Defaults to None: the stem must fit as it is.
            rgb_bands (Sequence[int | None], optional): The 0-based input
                bands of R, G and B (None where absent), for
                ``adapt_channels``. Defaults to None: ``(0, 1, 2)``.
        """
        official_checkpoint.load_pretrained_backbone(
            self, checkpoint, prefix, adapt_channels, rgb_bands)
