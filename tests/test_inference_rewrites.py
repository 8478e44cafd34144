"""Inference rewrites of the backbone: each one gives the numbers of the
plain layers it replaces, runs only where it may, and survives
torch.compile. (The block-level seam: test_backbone.py.)"""
import copy

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from lemevit_mm.models.backbones.lemevit import (CrossAttention,
                                                 DualCrossAttention,
                                                 LeMeViTBlock)
from lemevit_mm.models.utils import fast_inference
from lemevit_mm.models.utils.fast_inference import (
    conv_bn_stack, inference_rewrites_allowed)

from helpers import assert_dense_match, pretrained_tiny


def randomise(module: nn.Module) -> nn.Module:
    """Non-zero biases and batch-norm statistics: folding them wrongly
    must show."""
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            nn.init.normal_(sub.bias, std=0.5)
        if isinstance(sub, nn.BatchNorm2d):
            sub.running_mean.normal_()
            sub.running_var.uniform_(0.5, 2.0)
            nn.init.normal_(sub.weight)
            nn.init.normal_(sub.bias)
    return module.eval()


def plain_and_rewritten(module: nn.Module, *inputs, **kwargs):
    """The module's output with autograd on (the plain layers) and
    without it (the rewrites)."""
    tensors = [x for x in (*inputs, *kwargs.values()) if torch.is_tensor(x)]
    for x in tensors:
        x.requires_grad_()
    plain = module(*inputs, **kwargs)
    for x in tensors:
        x.requires_grad_(False)
    with torch.no_grad():
        rewritten = module(*inputs, **kwargs)
    return plain, rewritten


def plain_and_folded(layer: nn.Module, folded, *inputs, **residuals):
    """The layer's plain output plus ``residuals`` (in order), and the
    rewritten ``folded(layer, *inputs, **residuals)`` without autograd."""
    with torch.enable_grad():
        plain = layer(*inputs)
    plain = plain if isinstance(plain, tuple) else (plain, )
    added = list(residuals.values())
    plain = tuple(out if out is None or i >= len(added) or added[i] is None
                  else added[i] + out for i, out in enumerate(plain))
    with torch.no_grad():
        rewritten = folded(layer, *inputs, **residuals)
    return plain, rewritten


def assert_close(plain, rewritten, tol: float = 1e-5) -> None:
    plain = plain if isinstance(plain, tuple) else (plain, )
    rewritten = rewritten if isinstance(rewritten, tuple) else (rewritten, )
    assert len(plain) == len(rewritten)
    for a, b in zip(plain, rewritten):
        if a is None:
            assert b is None
            continue
        assert a.shape == b.shape and a.dtype == b.dtype
        scale = a.detach().abs().max().item()
        assert (a.detach() - b).abs().max().item() <= tol * max(scale, 1)


@pytest.mark.parametrize('backend', ['sdpa', 'math'])
@pytest.mark.parametrize('update_meta', [True, False])
def test_folded_dual_cross_attention(backend, update_meta):
    attn = randomise(DualCrossAttention(128, attn_backend=backend))
    image, meta = torch.randn(2, 96, 128), torch.randn(2, 16, 128)
    res_x, res_c = torch.randn(2, 96, 128), torch.randn(2, 16, 128)
    folded = fast_inference.dual_cross_attention
    assert_close(*plain_and_folded(attn, folded, image, meta, update_meta,
                                   residual_x=res_x, residual_c=res_c))
    assert_close(*plain_and_folded(attn, folded, image, meta, update_meta))


def test_folded_cross_attention():
    attn = randomise(CrossAttention(96))
    meta, image = torch.randn(3, 16, 96), torch.randn(3, 200, 96)
    assert_close(*plain_and_folded(attn, fast_inference.cross_attention,
                                   meta, image,
                                   residual=torch.randn(3, 16, 96)))


def test_folded_attention_under_bf16_autocast():
    attn = randomise(DualCrossAttention(64))
    image, meta = torch.randn(2, 256, 64), torch.randn(2, 16, 64)
    residual = torch.randn(2, 256, 64)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        plain, rewritten = plain_and_folded(
            attn, fast_inference.dual_cross_attention, image, meta,
            residual_x=residual)
    # the residual stream keeps its float32 precision
    assert rewritten[0].dtype == torch.float32
    assert_close(plain, rewritten, tol=0.03)


def test_folding_is_not_used_with_autograd_or_flop_counter():
    attn = randomise(DualCrossAttention(64))
    image = torch.randn(1, 64, 64, requires_grad=True)
    assert not inference_rewrites_allowed(image, attn.qkv_x)
    with torch.no_grad():
        assert inference_rewrites_allowed(image, attn.qkv_x)
        with FlopCounterMode(display=False):
            assert not inference_rewrites_allowed(image, attn.qkv_x)
    # a frozen layer needs no graph even with autograd on
    attn.requires_grad_(False)
    assert inference_rewrites_allowed(image.detach(), attn.qkv_x)


def stem() -> nn.Sequential:
    return randomise(nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16),
        nn.GELU(), nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.BatchNorm2d(32)))


def test_conv_batch_norm_folding():
    layers = stem()
    x = torch.randn(2, 3, 40, 56).contiguous(memory_format=torch.channels_last)
    plain, rewritten = plain_and_rewritten(
        lambda x: conv_bn_stack(x, layers), x)
    assert_close(plain, rewritten)
    assert_close(layers(x.detach()).detach(), rewritten)
    assert rewritten.is_contiguous(memory_format=torch.channels_last)


def test_training_batch_norm_is_not_folded():
    layers = stem().train()
    reference = copy.deepcopy(layers)
    before = layers[1].running_mean.clone()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        out = conv_bn_stack(x, layers)
        expected = reference(x)
    # batch statistics normalised the output and updated the running ones
    assert_close(expected, out)
    assert not torch.equal(layers[1].running_mean, before)
    assert torch.allclose(layers[1].running_mean, reference[1].running_mean)


@pytest.mark.parametrize('attn_type', ['D', 'S'])
def test_chunked_mlp_equals_one_pass(attn_type, monkeypatch):
    block = randomise(LeMeViTBlock(64, attn_type))
    x, meta = torch.randn(2, 24, 20, 64), torch.randn(2, 16, 64)
    with torch.no_grad():
        whole = block(x, meta)
        # 960 tokens of 256 hidden floats: force passes of 100 tokens
        monkeypatch.setattr(fast_inference, 'MLP_CHUNK_ABOVE', 0)
        monkeypatch.setattr(fast_inference, 'MLP_CHUNK_BYTES', 100 * 256 * 4)
        assert fast_inference.mlp_chunk_rows(x.view(2, -1, 64),
                                             block.mlp) == 100
        chunked = block(x, meta)
    assert_close(whole, chunked, tol=1e-6)


@pytest.mark.skipif(not fast_inference.ONEDNN, reason='needs oneDNN')
def test_onednn_linear_operator():
    x, residual = torch.randn(5, 7, 24), torch.randn(5, 7, 40)
    weight, bias = torch.randn(40, 24), torch.randn(40)
    for gelu in (False, True):
        for extra in (None, residual):
            torch.library.opcheck(fast_inference.onednn_linear_op,
                                  (x, weight, bias, gelu, extra))
            out = fast_inference.onednn_linear_op(x, weight, bias, gelu, extra)
            expected = nn.functional.linear(x, weight, bias)
            expected = nn.functional.gelu(expected) if gelu else expected
            expected = expected if extra is None else extra + expected
            assert (out - expected).abs().max() < 1e-4


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_autocast_dtype_without_onednn_kernel_takes_plain_ops(
        dtype, monkeypatch):
    """Where oneDNN has no kernel for the autocast dtype (bfloat16 on a
    CPU without AVX-512, float16 on most), the rewrites use the plain ops
    instead of failing to build one."""
    monkeypatch.setattr(fast_inference, 'ONEDNN_DTYPES', (torch.float32, ))
    block = randomise(LeMeViTBlock(64, 'S'))
    x, meta = torch.randn(2, 7, 7, 64), torch.randn(2, 16, 64)
    fc1 = block.mlp.fc1
    with torch.no_grad():
        assert fast_inference.onednn_usable(x, fc1) == fast_inference.ONEDNN
        with torch.autocast('cpu', dtype=dtype):
            assert not fast_inference.onednn_usable(x, fc1)
            assert not fast_inference.onednn_usable(x.to(dtype), fc1)
    with torch.autocast('cpu', dtype=dtype):
        plain, rewritten = plain_and_rewritten(block, x, meta)
    assert_close(plain, rewritten, tol=0.03)


def test_onednn_dtype_is_the_one_autocast_computes_in(monkeypatch):
    """The dtype checked is the one the layer computes in: autocast casts
    a bfloat16 input to float16, and leaves float64 alone."""
    monkeypatch.setattr(fast_inference, 'ONEDNN_DTYPES',
                        (torch.float32, torch.bfloat16))
    fc1, x = nn.Linear(8, 8), torch.randn(2, 8)
    with torch.no_grad():
        assert fast_inference.onednn_usable(x.bfloat16(), fc1) == \
            fast_inference.ONEDNN
        with torch.autocast('cpu', dtype=torch.float16):
            assert not fast_inference.onednn_usable(x.bfloat16(), fc1)
            assert not fast_inference.onednn_usable(x.double(), fc1)


@pytest.mark.trained_weights
def test_compiled_backbone_matches_reference(official_tiny, reference_io,
                                             monkeypatch):
    """torch.compile of the inference path (custom oneDNN operator, folded
    attention, chunked MLP) against the authors' tensors."""
    model = pretrained_tiny(official_tiny)
    # small chunks, so that the compiled graph has the chunked MLP too
    monkeypatch.setattr(fast_inference, 'MLP_CHUNK_ABOVE', 0)
    compiled = torch.compile(model)
    with torch.no_grad():
        feats = compiled(reference_io['dense_input'])
    assert_dense_match(feats, reference_io)
