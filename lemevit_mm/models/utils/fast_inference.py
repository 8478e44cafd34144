"""The fast inference path of the LeMeViT backbone.

The backbone's layers (:mod:`~lemevit_mm.models.backbones.lemevit`) read
as the paper defines them. This module plugs in at one seam: a
``LeMeViTBlock`` asks :func:`rewrites_allowed` once per call and, where
it may, runs as :func:`lemevit_block`, which computes the same output with
less work; the stem and the downsampling layers run through
:func:`conv_bn_stack`, which folds their batch norms where it may:

- every linear layer is one oneDNN kernel on the CPU, with its bias,
  GELU and residual addition fused (:func:`fused_linear`; under
  torch.compile through the custom operator ``lemevit::onednn_linear``);
- C and D attention: the projections of all image tokens are folded into
  the few meta tokens (:func:`read_few_tokens`, :func:`read_many_tokens`);
- batch norms are folded into the convolutions before them (and a GELU
  after them fused on the CPU): :func:`conv_bn_stack`;
- the position encoding ``x + conv(x)`` is one convolution
  (:func:`position_encoding`);
- a large MLP runs in cache-sized passes (:func:`residual_mlp`).

The switch is off while autograd records a graph, during export
(ONNX, torch.export, TorchScript) and under dispatch-mode tools such as
FLOP counters: those see the plain layers.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.utils._python_dispatch import _get_current_dispatch_mode

from ...utils.autocast import ONEDNN, ONEDNN_DTYPES
from .attention import merge_heads, multi_head_attention, split_heads

# ONEDNN: oneDNN's fused linear and convolution (bias, GELU, residual in
# one kernel) are built in; ONEDNN_DTYPES: the dtypes it has kernels for
# on this CPU (see lemevit_mm.utils.autocast).

# The input dtypes autocast casts to its own (it leaves float64 alone).
AUTOCAST_CASTS = (torch.float32, torch.bfloat16, torch.float16)
# The fused MLP runs in passes of MLP_CHUNK_BYTES of hidden activations
# when they would otherwise exceed MLP_CHUNK_ABOVE bytes (the size of a
# typical last-level cache).
MLP_CHUNK_BYTES = 4 * 2**20
MLP_CHUNK_ABOVE = 32 * 2**20


def exporting() -> bool:
    """Whether the model is being traced for export (ONNX, torch.export,
    TorchScript tracing): sizes must then stay symbolic."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or \
        torch.compiler.is_exporting()


def inference_rewrites_allowed(x: Tensor, layer: nn.Module) -> bool:
    """Whether ``layer`` may run rewritten for inference on ``x`` (folded
    weights, fused kernels): no autograd graph to record (neither ``x``
    nor a parameter of ``layer`` needs a gradient), not traced for
    export, and no dispatch-mode tool watching (FLOP counters and fake
    tensors see the model as the paper defines it), except under
    torch.compile."""
    if torch.is_grad_enabled() and (x.requires_grad or any(
            param.requires_grad for param in layer.parameters())):
        return False
    if exporting() or torch.jit.is_scripting():
        return False
    return torch.compiler.is_compiling() or \
        _get_current_dispatch_mode() is None


def rewrites_allowed(module: nn.Module, x: Tensor,
                     *inputs: Optional[Tensor]) -> bool:
    """The seam's switch: whether ``module`` (a ``LeMeViTBlock``) may run
    rewritten on ``x`` and the other ``inputs`` (None ones ignored); see
    :func:`inference_rewrites_allowed`."""
    if torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in inputs):
        return False
    return inference_rewrites_allowed(x, module)


def onednn_usable(x: Tensor, layer: nn.Module) -> bool:
    """Whether ``layer(x)`` may run as one oneDNN kernel with fused bias,
    activation and residual: CPU inference, eager or compiled, in a dtype
    (autocast's, if enabled) that oneDNN supports on this CPU."""
    if not ONEDNN or x.device.type != 'cpu':
        return False
    dtype = x.dtype
    if torch.is_autocast_enabled('cpu') and dtype in AUTOCAST_CASTS:
        dtype = torch.get_autocast_dtype('cpu')  # what fused_linear uses
    return dtype in ONEDNN_DTYPES and inference_rewrites_allowed(x, layer)


def _onednn_linear(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                   gelu: bool = False,
                   residual: Optional[Tensor] = None) -> Tensor:
    """``residual + gelu(x @ weight.T + bias)`` as one oneDNN kernel.

    All tensors share one dtype; ``x`` and ``residual`` are contiguous.
    """
    with torch.autocast('cpu', enabled=False):
        if residual is not None and not gelu:
            return torch.ops.mkldnn._linear_pointwise.binary(
                x, residual, weight, bias, 'add')
        out = torch.ops.mkldnn._linear_pointwise(
            x, weight, bias, 'gelu' if gelu else 'none', [], 'none')
        return out if residual is None else residual + out


# The same as a custom operator, so that torch.compile calls the fused
# kernel as it is: its own lowering of a float32 linear leaves the GELU and
# the residual to separate passes over the output. Eager code calls the
# function directly, without the operator's dispatch overhead.
onednn_linear_op = torch.library.custom_op(
    'lemevit::onednn_linear', _onednn_linear, mutates_args=())


@onednn_linear_op.register_fake
def _onednn_linear_fake(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                        gelu: bool = False,
                        residual: Optional[Tensor] = None) -> Tensor:
    return x.new_empty((*x.shape[:-1], weight.shape[0]))


def fused_linear(x: Tensor, layer: nn.Linear, gelu: bool = False,
                 residual: Optional[Tensor] = None) -> Tensor:
    """``residual + gelu(layer(x))`` (each part optional).

    On the CPU without autograd, this is a single oneDNN matmul with the
    bias, the GELU and the residual addition fused into it, instead of a
    bias copy, a matmul and up to two more passes over the output. Under
    autocast the matmul runs in the autocast dtype and a float32 residual
    is added outside, as the unfused ops would do.
    """
    if not onednn_usable(x, layer):
        out = layer(x)
        if gelu:
            out = F.gelu(out)
        return out if residual is None else residual + out
    weight, bias = layer.weight, layer.bias
    if torch.is_autocast_enabled('cpu'):
        dtype = torch.get_autocast_dtype('cpu')
        weight = weight.to(dtype)
        bias = None if bias is None else bias.to(dtype)
    x = x.to(weight.dtype).contiguous()
    linear = onednn_linear_op if torch.compiler.is_compiling() \
        else _onednn_linear
    if residual is not None and residual.dtype == x.dtype:
        return linear(x, weight, bias, gelu, residual.contiguous())
    out = linear(x, weight, bias, gelu)
    return out if residual is None else residual + out


def conv_bn_stack(x: Tensor, layers: nn.Sequential) -> Tensor:
    """Run ``layers``, a sequence of convolutions, batch norms and GELUs.

    In inference, every batch norm in eval mode that follows a
    convolution is folded into it, and on the CPU a GELU after them runs
    inside the oneDNN convolution: one pass over the output instead of
    three. Other layers (and batch norms in training mode) run as they
    are.
    """
    modules = list(layers)
    index = 0
    while index < len(modules):
        conv, norm, act = (modules[index:index + 3] + [None, None])[:3]
        foldable = isinstance(conv, nn.Conv2d) and \
            isinstance(norm, nn.BatchNorm2d) and not norm.training and \
            norm.affine and norm.running_var is not None and \
            conv.padding_mode == 'zeros' and \
            inference_rewrites_allowed(x, conv)
        if not foldable:
            x = conv(x)
            index += 1
            continue
        gelu = isinstance(act, nn.GELU) and act.approximate == 'none'
        index += 3 if gelu else 2
        scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
        weight = conv.weight * scale.view(-1, 1, 1, 1)
        bias = -norm.running_mean if conv.bias is None else \
            conv.bias - norm.running_mean
        bias = bias * scale + norm.bias
        if onednn_usable(x, conv) and not torch.compiler.is_compiling() \
                and not torch.is_autocast_enabled('cpu'):
            x = torch.ops.mkldnn._convolution_pointwise(
                x, weight, bias, conv.padding, conv.stride, conv.dilation,
                conv.groups, 'gelu' if gelu else 'none', [], 'none')
        else:
            x = F.conv2d(x, weight, bias, conv.stride, conv.padding,
                         conv.dilation, conv.groups)
            x = F.gelu(x) if gelu else x
    return x


def position_encoding(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """``x + conv(x)`` for ``(B, H, W, C)`` tokens and a depthwise 3x3
    ``conv`` (padding 1): the identity goes into the centre tap of the
    kernel, one convolution and no extra pass over ``x``.

    Under autocast, which would run that convolution in a lower precision,
    ``x`` is added outside it, as in the plain layer: the residual stream
    keeps its own dtype."""
    if torch.is_autocast_enabled(x.device.type):
        return x + conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    weight = conv.weight.clone()
    weight[:, :, 1, 1] += 1
    out = F.conv2d(x.permute(0, 3, 1, 2), weight, conv.bias, padding=1,
                   groups=conv.groups)
    return out.permute(0, 2, 3, 1)


def head_weights(layer: nn.Linear, part: int, num_parts: int,
                 num_heads: int) -> Tuple[Tensor, Tensor]:
    """The weight ``(heads, head_dim, in)`` and the bias
    ``(heads, head_dim)`` of output part ``part`` of ``layer``, whose
    outputs are ``num_parts`` parts of ``num_heads`` heads each."""
    weight = layer.weight.view(num_parts, num_heads, -1, layer.in_features)
    bias = layer.bias.view(num_parts, num_heads, -1)
    return weight[part], bias[part]


def read_few_tokens(tokens: Tensor, keys: Tensor, values: Tensor,
                    scale: float, query_layer: nn.Linear, query_part: int,
                    num_parts: int, out_layer: nn.Linear,
                    residual: Optional[Tensor] = None) -> Tensor:
    """Many tokens attend to a few: ``out_layer(attention(query_layer(
    tokens), keys, values))`` (plus ``residual``), with the projections
    folded into the few keys and values.

    With ``W_q``, ``b_q`` the query projection of one head, ``k`` the few
    keys, ``W_o`` the output projection, the logits are
    ``tokens @ (W_q^T k^T) + b_q k^T`` and the output is
    ``softmax(logits) @ (v W_o^T)``: per image, two matmuls of width
    ``heads * len(keys)`` replace the query projection, the attention and
    the output projection over all tokens. The output bias is split over
    the heads (each head's probabilities sum to one).

    Args:
        tokens (Tensor): Normalised tokens, ``(B, N, C)``.
        keys (Tensor): ``(B, heads, M, head_dim)``.
        values (Tensor): ``(B, heads, M, head_dim)``.
        scale (float): Softmax scale.
        query_layer (nn.Linear): Holds the query projection as output part
            ``query_part`` of ``num_parts``.
        query_part (int): See ``query_layer``.
        num_parts (int): See ``query_layer``.
        out_layer (nn.Linear): The output projection.
        residual (Tensor, optional): Added to the output, ``(B, N, C')``.
            Defaults to None.
    """
    batch, num_heads, num_few, _ = keys.shape
    w_q, b_q = head_weights(query_layer, query_part, num_parts, num_heads)
    w_o = out_layer.weight.view(out_layer.out_features, num_heads, -1)
    # (B, C, heads * M) and (B, 1, heads * M): the logits' projection
    logit_weight = torch.einsum('hdc,bhmd->bchm', w_q * scale,
                                keys).flatten(2)
    logit_bias = torch.einsum('hd,bhmd->bhm', b_q * scale,
                              keys).reshape(batch, 1, -1)
    # (B, heads * M, C'): values through the output projection
    out_weight = torch.einsum('bhmd,ohd->bhmo', values, w_o).flatten(1, 2)
    out_weight = out_weight + out_layer.bias / num_heads
    logits = torch.baddbmm(logit_bias, tokens, logit_weight)
    probs = logits.unflatten(-1, (num_heads, num_few)).softmax(-1)
    probs = probs.flatten(2).to(out_weight.dtype)
    if residual is None:
        return torch.bmm(probs, out_weight)
    if residual.dtype != out_weight.dtype or \
            torch.is_autocast_enabled(tokens.device.type):
        # keep the residual stream in its own precision
        return residual + torch.bmm(probs, out_weight)
    return torch.baddbmm(residual, probs, out_weight)


def read_many_tokens(queries: Tensor, tokens: Tensor, scale: float,
                     kv_layer: nn.Linear, key_part: int, num_parts: int,
                     backend: str) -> Tensor:
    """A few queries attend to many tokens: ``attention(queries,
    key(tokens), value(tokens))`` with the key and value projections
    folded into the few queries and outputs.

    The logits are ``(q W_k) @ tokens^T`` (the key bias adds the same
    number to every logit of a query and cancels in the softmax), and the
    output is ``(softmax(logits) @ tokens) W_v^T + b_v``: the keys and
    values of all tokens are never computed; every head attends to the
    normalised tokens themselves.

    Args:
        queries (Tensor): ``(B, heads, M, head_dim)``.
        tokens (Tensor): Normalised tokens, ``(B, N, C)``.
        scale (float): Softmax scale.
        kv_layer (nn.Linear): Holds the key and value projections as output
            parts ``key_part`` and ``key_part + 1`` of ``num_parts``.
        key_part (int): See ``kv_layer``.
        num_parts (int): See ``kv_layer``.
        backend (str): A resolved attention backend.

    Returns:
        Tensor: The attention output with merged heads, ``(B, M, C)``.
    """
    batch, num_heads, num_few, _ = queries.shape
    w_k, _ = head_weights(kv_layer, key_part, num_parts, num_heads)
    w_v, b_v = head_weights(kv_layer, key_part + 1, num_parts, num_heads)
    # All heads share their keys and values (the tokens): one attention
    # head with heads * M queries reads the tokens once.
    folded_queries = torch.einsum('bhmd,hdc->bhmc', queries,
                                  w_k * scale).flatten(1, 2).unsqueeze(1)
    shared = tokens.unsqueeze(1)
    mixed = multi_head_attention(folded_queries, shared, shared, 1.0,
                                 backend)
    mixed = mixed.view(batch, num_heads, num_few, -1)
    out = torch.einsum('bhmc,hdc->bmhd', mixed, w_v) + b_v
    return out.flatten(2)


# The layers rewritten. Each takes the layer, the arguments of its
# ``forward`` and optionally a residual to add, and returns what the plain
# ``forward`` returns (plus the residual).


def mlp(layer: nn.Module, x: Tensor,
        residual: Optional[Tensor] = None) -> Tensor:
    """``Mlp.forward``: ``residual + fc2(gelu(fc1(x)))`` in two fused
    linear kernels."""
    hidden = fused_linear(x, layer.fc1, gelu=True)
    return fused_linear(hidden, layer.fc2, residual=residual)


def mlp_chunk_rows(tokens: Tensor, layer: nn.Module,
                   chunk_bytes: Optional[int] = None,
                   chunk_above: Optional[int] = None) -> Optional[int]:
    """Tokens per pass of the MLP ``layer`` over ``tokens`` (None: one
    pass): passes of ``chunk_bytes`` (default :data:`MLP_CHUNK_BYTES`)
    of hidden activations on the fused CPU path, when all of them would
    take more than ``chunk_above`` (default :data:`MLP_CHUNK_ABOVE`)
    bytes, so that each pass keeps its hidden activations in the cache
    between the two matmuls."""
    chunk_bytes = MLP_CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    chunk_above = MLP_CHUNK_ABOVE if chunk_above is None else chunk_above
    if not onednn_usable(tokens, layer.fc1):
        return None
    row_bytes = layer.fc1.out_features * tokens.element_size()
    if tokens.numel() // tokens.shape[-1] * row_bytes <= chunk_above:
        return None
    return max(chunk_bytes // row_bytes, 1)


def residual_mlp(layer: nn.Module, norm: nn.Module, tokens: Tensor,
                 rows: Optional[int] = None) -> Tensor:
    """``tokens + layer(norm(tokens))`` (:func:`mlp`), in passes of
    ``rows`` tokens (see :func:`mlp_chunk_rows`; None: one pass)."""
    if rows is None:
        return mlp(layer, norm(tokens), residual=tokens)
    chunks = tokens.reshape(-1, tokens.shape[-1]).split(rows)
    return torch.cat([mlp(layer, norm(chunk), residual=chunk)
                      for chunk in chunks]).view_as(tokens)


def cross_attention(layer: nn.Module, meta: Tensor, image: Tensor,
                    residual: Optional[Tensor] = None) -> Tensor:
    """``CrossAttention.forward``, the keys and values of the image tokens
    folded into the meta-token queries (:func:`read_many_tokens`)."""
    q, = split_heads(fused_linear(meta, layer.q), 1, layer.num_heads)
    out = read_many_tokens(q, image, layer.scale, layer.kv, 0, 2,
                           layer.attn_backend)
    return fused_linear(out, layer.proj, residual=residual)


def dual_cross_attention(layer: nn.Module, image: Tensor, meta: Tensor,
                         update_meta: bool = True,
                         residual_x: Optional[Tensor] = None,
                         residual_c: Optional[Tensor] = None
                         ) -> Tuple[Tensor, Optional[Tensor]]:
    """``DualCrossAttention.forward`` without projecting the image tokens:
    their queries, keys and values are folded into the meta tokens
    (:func:`read_few_tokens`, :func:`read_many_tokens`)."""
    q_c, k_c, v_c = split_heads(
        fused_linear(meta, layer.qkv_c), 3, layer.num_heads)
    scale_x = layer.image_scale(image.shape[1], meta.shape[1])
    out_x = read_few_tokens(image, k_c, v_c, scale_x, layer.qkv_x, 0, 3,
                            layer.proj_x, residual_x)
    if not update_meta:
        return out_x, None
    out_c = read_many_tokens(q_c, image, layer.scale, layer.qkv_x, 1, 3,
                             layer.attn_backend)
    return out_x, fused_linear(out_c, layer.proj_c, residual=residual_c)


def self_attention(layer: nn.Module, tokens: Tensor,
                   residual: Optional[Tensor] = None) -> Tensor:
    """``SelfAttention.forward`` with fused projections."""
    q, k, v = split_heads(fused_linear(tokens, layer.qkv), 3,
                          layer.num_heads)
    out = multi_head_attention(q, k, v, layer.scale, layer.attn_backend)
    return fused_linear(merge_heads(out), layer.proj, residual=residual)


def lemevit_block(block: nn.Module, x: Tensor, meta: Optional[Tensor],
                  update_meta: bool = True
                  ) -> Tuple[Tensor, Optional[Tensor]]:
    """``LeMeViTBlock.forward`` with its layers rewritten: the position
    encoding as one convolution, the attention folded and fused, the
    residual additions inside the output projections (unless drop path
    is active, in training mode), the MLP fused and, if large, in
    passes."""
    batch, height, width, dim = x.shape
    tokens = position_encoding(block.cpe, x).reshape(
        batch, height * width, dim)
    attn, norm1, norm2 = block.attn, block.norm1, block.norm2
    # Active drop path scales each update before its residual addition,
    # so the addition stays outside the kernels then.
    drop = block.drop_path if block.training and not isinstance(
        block.drop_path, nn.Identity) else None

    def residual_mlp_of(stream: Tensor) -> Tensor:
        if drop is not None:
            return stream + drop(mlp(block.mlp, norm2(stream)))
        return residual_mlp(block.mlp, norm2, stream,
                            mlp_chunk_rows(stream, block.mlp))

    if block.attn_type == 'C':
        # The image tokens are only read: x leaves unchanged.
        if drop is None:
            meta = cross_attention(attn, norm1(meta), norm1(tokens),
                                   residual=meta)
        else:
            meta = meta + drop(cross_attention(attn, norm1(meta),
                                               norm1(tokens)))
        return x, residual_mlp_of(meta)

    if block.attn_type == 'D':
        tokens_n, meta_n = norm1(tokens), norm1(meta)
        if drop is None:
            tokens, meta_new = dual_cross_attention(
                attn, tokens_n, meta_n, update_meta, residual_x=tokens,
                residual_c=meta)
        else:
            out_x, out_c = dual_cross_attention(attn, tokens_n, meta_n,
                                                update_meta)
            tokens = tokens + drop(out_x)
            meta_new = meta + drop(out_c) if update_meta else None
    elif drop is None:
        tokens = self_attention(attn, norm1(tokens), residual=tokens)
        meta_new = self_attention(attn, norm1(meta), residual=meta) \
            if update_meta else None
    else:
        tokens = tokens + drop(self_attention(attn, norm1(tokens)))
        meta_new = meta + drop(self_attention(attn, norm1(meta))) \
            if update_meta else None
    tokens = residual_mlp_of(tokens)
    meta = residual_mlp_of(meta_new) if update_meta else None
    return tokens.view(batch, height, width, dim), meta
