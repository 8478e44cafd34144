"""LeMeViT backbone: exactness against the authors' tensors, options,
gradients and errors."""
import logging
import math

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.registry import MODELS

import lemevit_mm  # noqa: F401
from lemevit_mm.models import LeMeViT, lemevit_backbone, lemevit_classifier
from lemevit_mm.models.utils import attention

from helpers import assert_dense_match, dense_errors, pretrained_tiny

HERE_BACKENDS = ['sdpa', 'math']  # the ones that run on this machine


class LogCapture(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.trained_weights
@pytest.mark.parametrize('backend', [*HERE_BACKENDS, 'auto'])
def test_dense_features_match_reference(official_tiny, reference_io,
                                        backend):
    logger = MMLogger.get_current_instance()
    capture = LogCapture()
    logger.addHandler(capture)
    try:
        model = pretrained_tiny(official_tiny, attn_backend=backend)
    finally:
        logger.removeHandler(capture)
    loaded = [m for m in capture.messages if 'LeMeViT: loaded' in m]
    assert loaded and 'missing: 0, unexpected: 0' in loaded[0]
    own = len(model.state_dict())
    assert f'loaded {own}/{own} weights' in loaded[0]
    with torch.no_grad():
        feats = model(reference_io['dense_input'])
    assert len(feats) == 4
    assert_dense_match(feats, reference_io)


@pytest.mark.trained_weights
def test_wrong_softmax_scale_is_visible(official_tiny, reference_io,
                                        monkeypatch):
    """The reference can tell a 1% scale error apart: the test has teeth."""
    from lemevit_mm.models.backbones import lemevit
    model = pretrained_tiny(official_tiny)
    original = lemevit.DualCrossAttention.image_scale
    monkeypatch.setattr(lemevit.DualCrossAttention, 'image_scale',
                        lambda self, n, m: 1.01 * original(self, n, m))
    with torch.no_grad():
        feats = model(reference_io['dense_input'])
    error = dense_errors(feats, reference_io)[-1]
    assert error > 10 * reference_io['dense_tol'][-1]


@pytest.mark.parametrize('wrapper,prefix', [
    ('model', ''), ('state_dict', 'module.'),
    ('state_dict_ema', 'backbone.'), (None, 'module.backbone.')])
def test_checkpoint_wrappers(tmp_path, official_tiny, reference_io, wrapper,
                             prefix):
    state = torch.load(official_tiny, weights_only=True)
    state = {prefix + k: v for k, v in state.items()}
    ckpt = state if wrapper is None else {wrapper: state, 'epoch': 3}
    if wrapper == 'state_dict_ema':  # the EMA copy must win
        ckpt['model'] = {k: torch.zeros_like(v) for k, v in state.items()}
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    model = pretrained_tiny(str(path))
    with torch.no_grad():
        feats = model(reference_io['dense_input'])
    assert_dense_match(feats, reference_io)


def test_prefix_selects_weights(tmp_path, official_tiny):
    state = torch.load(official_tiny, weights_only=True)
    ckpt = {'state_dict': {'encoder.' + k: v for k, v in state.items()}}
    torch.save(ckpt, tmp_path / 'c.pth')
    model = LeMeViT(init_cfg=dict(type='Pretrained', prefix='encoder.',
                                  checkpoint=str(tmp_path / 'c.pth')))
    model.init_weights()
    assert torch.equal(model.meta_tokens, state['meta_tokens'])
    with pytest.raises(ValueError, match="prefix 'nothing.'"):
        model.load_pretrained(str(tmp_path / 'c.pth'), prefix='nothing.')


def test_classifier_parameter_counts():
    from mmpretrain.models import ImageClassifier  # noqa: F401
    expected = {'tiny': 8_635_816, 'small': 16_400_456, 'base': 53_098_152}
    for arch, count in expected.items():
        cfg = lemevit_classifier(arch, classifier='mmpretrain.ImageClassifier',
                                 head='mmpretrain.LinearClsHead')
        model = MODELS.build(cfg)
        assert sum(p.numel() for p in model.parameters()) == count, arch
        backbone = lemevit_backbone(arch)
        assert backbone.out_indices == (4, ) and backbone.out_meta_tokens
        assert backbone.state_dict().keys() == \
            model.backbone.state_dict().keys()


@pytest.mark.parametrize('config', ['lemevit_t_in1k.py',
                                    'lemevit_s_millionaid.py',
                                    'lemevit_b_in1k.py'])
def test_classifier_configs_are_the_builders(config):
    """The classifier configs hold what lemevit_classifier describes."""
    from mmengine.config import Config

    from helpers import REPO
    model = Config.fromfile(f'{REPO}/configs/cls/{config}').model.to_dict()
    built = lemevit_classifier(model['backbone']['arch'],
                               model['head']['num_classes'])
    def same(value):  # configs may hold lists where the builder has tuples
        return tuple(value) if isinstance(value, list) else value

    assert model['type'] == built['type']
    for part in ('backbone', 'neck', 'head'):
        for key, value in built[part].items():
            assert same(model[part][key]) == same(value), (part, key)


def randomise(module: nn.Module) -> nn.Module:
    """Non-zero biases and batch-norm statistics: folding them wrongly
    must show."""
    generator = torch.Generator().manual_seed(0)
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            sub.bias.data = 0.5 * torch.randn(sub.bias.shape,
                                              generator=generator)
        if isinstance(sub, nn.BatchNorm2d):
            sub.running_mean.normal_(generator=generator)
            sub.running_var.uniform_(0.5, 2.0, generator=generator)
            sub.weight.data.normal_(generator=generator)
            sub.bias.data.normal_(generator=generator)
    return module.eval()


def assert_outputs_close(plain, fast, tol: float = 1e-5) -> None:
    assert len(plain) == len(fast)
    for a, b in zip(plain, fast):
        if a is None:
            assert b is None
            continue
        assert a.shape == b.shape and a.dtype == b.dtype
        scale = max(a.detach().abs().max().item(), 1)
        assert (a.detach() - b.detach()).abs().max().item() <= tol * scale


@pytest.mark.parametrize('attn_type,update_meta', [
    ('C', True), ('D', True), ('D', False), ('S', True), ('S', False)])
@pytest.mark.parametrize('training', [False, True])
def test_block_runs_rewritten_at_one_seam(attn_type, update_meta, training):
    """A block runs fast_inference.lemevit_block (bit for bit) exactly
    when autograd records nothing, else its own (the paper's) layers; both
    give the same numbers, with drop path active too (same random
    draws)."""
    from lemevit_mm.models.backbones.lemevit import LeMeViTBlock
    from lemevit_mm.models.utils import fast_inference
    block = randomise(LeMeViTBlock(64, attn_type, drop_path=0.3))
    block.train(training)
    x, meta = torch.randn(2, 12, 10, 64), torch.randn(2, 16, 64)
    outputs = {}
    for name in ('plain', 'seam', 'rewritten'):
        torch.manual_seed(1)
        if name == 'plain':
            outputs[name] = block(x, meta, update_meta)
            continue
        with torch.no_grad():
            outputs[name] = block(x, meta, update_meta) if name == 'seam' \
                else fast_inference.lemevit_block(block, x, meta,
                                                  update_meta)
    # C blocks pass the image tokens unchanged; the meta tokens may be None
    assert outputs['plain'][attn_type == 'C'].requires_grad
    assert not outputs['seam'][attn_type == 'C'].requires_grad
    for seam, rewritten in zip(outputs['seam'], outputs['rewritten']):
        assert (seam is None and rewritten is None) or \
            torch.equal(seam, rewritten)
    assert_outputs_close(outputs['plain'], outputs['seam'])
    if attn_type == 'C':  # the image tokens pass unchanged
        assert torch.equal(outputs['seam'][0], x)


def test_backbone_fused_and_plain_paths_agree():
    model = randomise(LeMeViT('tiny', out_meta_tokens=True))
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        fused = model(x)
    plain = model(x)
    assert all(out.requires_grad for out in plain)
    assert_outputs_close(plain, fused, tol=1e-4)


def test_frozen_stages_run_rewritten_while_training(monkeypatch):
    """Frozen blocks record no graph, so they take the fast path in
    training too; the trained ones run the plain layers."""
    from lemevit_mm.models.utils import fast_inference
    calls = []
    original = fast_inference.lemevit_block
    monkeypatch.setattr(
        fast_inference, 'lemevit_block',
        lambda block, *args: calls.append(block) or original(block, *args))
    model = LeMeViT('tiny', frozen_stages=1).train()
    feats = model(torch.randn(2, 3, 64, 64))
    frozen = [*model.stages[0].blocks, *model.stages[1].blocks]
    assert calls == frozen
    assert not feats[0].requires_grad and feats[-1].requires_grad


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmseg', 'mmdet',
                                   'mmrotate'])
def test_registered_in_root_registry(scope):
    import importlib
    registry = importlib.import_module(f'{scope}.registry').MODELS
    model = registry.build(dict(type='LeMeViT', arch='t'))
    assert isinstance(model, LeMeViT)


def test_arch_aliases_and_dict():
    assert LeMeViT('s').embed_dims == LeMeViT('small').embed_dims
    custom = LeMeViT(dict(embed_dims=[32, 32, 64, 96, 128],
                          depths=[1, 1, 1, 1, 1]))
    outs = custom(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [32, 64, 96, 128]


@pytest.mark.parametrize('size', [(32, 32), (33, 47), (100, 75)])
def test_any_input_size(size):
    """Sizes that are not multiples of 32 give maps of ceil(size/stride)."""
    model = LeMeViT('tiny').eval()
    outs = model(torch.randn(2, 3, *size))
    for out, stride, width in zip(outs, (4, 8, 16, 32), (64, 128, 192, 320)):
        assert out.shape == (2, width, math.ceil(size[0] / stride),
                             math.ceil(size[1] / stride))


def _grads_flow(model: LeMeViT, x: torch.Tensor) -> None:
    model.train()
    outs = model(x)
    sum(o.float().square().mean() for o in outs).backward()
    trainable = [(n, p) for n, p in model.named_parameters()
                 if p.requires_grad]
    assert trainable
    no_grad = [n for n, p in trainable
               if p.grad is None or not p.grad.abs().sum() > 0]
    assert not no_grad, no_grad


def test_every_trainable_parameter_gets_gradient_dense():
    model = LeMeViT('tiny', drop_path_rate=0.1)
    _grads_flow(model, torch.randn(2, 3, 64, 96))
    # kept for the checkpoint but dead in a dense model: the meta-token
    # projections after the last D stage and the last D block's proj_c
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {
        'stages.3.meta_proj.0.weight', 'stages.3.meta_proj.0.bias',
        'stages.3.meta_proj.1.weight', 'stages.3.meta_proj.1.bias',
        'stages.3.meta_proj.3.weight', 'stages.3.meta_proj.3.bias',
        'stages.3.meta_proj.4.weight', 'stages.3.meta_proj.4.bias',
        'stages.4.meta_proj.0.weight', 'stages.4.meta_proj.0.bias',
        'stages.4.meta_proj.1.weight', 'stages.4.meta_proj.1.bias',
        'stages.4.meta_proj.3.weight', 'stages.4.meta_proj.3.bias',
        'stages.4.meta_proj.4.weight', 'stages.4.meta_proj.4.bias',
        'stages.2.blocks.1.attn.proj_c.weight',
        'stages.2.blocks.1.attn.proj_c.bias'}


def test_every_parameter_gets_gradient_with_meta_tokens():
    model = LeMeViT('tiny', out_meta_tokens=True)
    assert all(p.requires_grad for p in model.parameters())
    _grads_flow(model, torch.randn(2, 3, 64, 64))


def test_meta_tokens_output():
    model = LeMeViT('tiny', out_indices=(4, ), out_meta_tokens=True)
    feat, meta = model(torch.randn(2, 3, 64, 64))
    assert feat.shape == (2, 320, 2, 2)
    assert meta.shape == (2, 16, 320)


def test_dense_skips_unneeded_work():
    """Stages past max(out_indices) and dead meta-token work do not run."""
    model = LeMeViT('tiny', out_indices=(2, ))
    calls = []
    for name, module in model.named_modules():
        if name.endswith(('meta_proj', 'proj_c')) or name == 'stages.3':
            module.register_forward_hook(
                lambda m, i, o, name=name: calls.append(name))
    model(torch.randn(1, 3, 64, 64))
    assert 'stages.3' not in calls
    assert 'stages.2.blocks.1.attn.proj_c' not in calls
    assert 'stages.2.blocks.0.attn.proj_c' in calls


def test_meta_tokens_unchanged_by_dense_shortcut(official_tiny):
    """Skipping the meta branch of S blocks changes no map."""
    dense = pretrained_tiny(official_tiny)
    full = pretrained_tiny(official_tiny, out_meta_tokens=True)
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        for a, b in zip(dense(x), full(x)[:-1]):
            assert torch.equal(a, b)


def test_with_cp_same_outputs_and_gradients():
    torch.manual_seed(1)
    plain = LeMeViT('tiny', out_meta_tokens=True)
    ckpt = LeMeViT('tiny', out_meta_tokens=True, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    grads = []
    for model in (plain, ckpt):
        model.train()
        outs = model(x)
        sum(o.sum() for o in outs).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
        grads.append(outs)
    for a, b in zip(grads[1], grads[3]):
        torch.testing.assert_close(a, b)
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[2][name],
                                   rtol=1e-4, atol=1e-5)


def test_frozen_stages():
    model = LeMeViT('tiny', frozen_stages=1)
    model.train()
    assert not model.stem[1].training and not model.stages[1].training
    assert model.stages[2].training
    frozen = [model.stem, model.stages[0], model.stages[1]]
    assert not any(p.requires_grad for m in frozen for p in m.parameters())
    assert not model.meta_tokens.requires_grad
    x = torch.randn(2, 3, 64, 64)
    mean_before = model.stem[1].running_mean.clone()
    sum(o.sum() for o in model(x)).backward()
    assert torch.equal(mean_before, model.stem[1].running_mean)
    assert all(p.grad is None for m in frozen for p in m.parameters())
    assert model.stages[2].blocks[0].mlp.fc1.weight.grad is not None


def test_norm_eval():
    model = LeMeViT('tiny', norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(bn.training for bn in bns)
    assert model.stages[3].blocks[0].training


# --------------------------------------------------------------- backends
def test_backend_resolution(monkeypatch):
    monkeypatch.delenv(attention.ATTN_BACKEND_ENV, raising=False)
    assert attention.resolve_attn_backend('auto') == 'sdpa'
    assert attention.resolve_attn_backend('math') == 'math'
    monkeypatch.setenv(attention.ATTN_BACKEND_ENV, 'math')
    assert attention.resolve_attn_backend('sdpa') == 'math'
    assert LeMeViT('tiny', attn_backend='sdpa').attn_backend == 'math'
    monkeypatch.setenv(attention.ATTN_BACKEND_ENV, 'bogus')
    with pytest.raises(ValueError, match='bogus'):
        attention.resolve_attn_backend('auto')


def test_auto_prefers_flash_on_cuda(monkeypatch):
    monkeypatch.delenv(attention.ATTN_BACKEND_ENV, raising=False)
    monkeypatch.setattr(attention, 'backend_installed', lambda b: True)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert attention.resolve_attn_backend('auto') == 'flash'


@pytest.mark.parametrize('backend', ['flash', 'xformers'])
def test_missing_optional_backend_is_a_clear_error(monkeypatch, backend):
    monkeypatch.delenv(attention.ATTN_BACKEND_ENV, raising=False)
    monkeypatch.setattr(attention, 'backend_installed',
                        lambda b: b not in ('flash', 'xformers'))
    with pytest.raises(ImportError, match=f'lemevit_mm\\[{backend}\\]'):
        LeMeViT('tiny', attn_backend=backend)


def _install_fake_kernels(monkeypatch, calls):
    """Stand-ins with the real packages' signatures and (B, N, H, D)
    layout, computing plain attention, to test our plumbing."""
    import sys
    import types

    def reference(q, k, v, scale):  # (B, N, H, D)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        out = ((q @ k.transpose(-2, -1)) * scale).softmax(-1) @ v
        return out.transpose(1, 2)

    def flash_attn_func(q, k, v, softmax_scale=None):
        calls.append('flash')
        return reference(q, k, v, softmax_scale)

    def memory_efficient_attention(q, k, v, scale=None):
        calls.append('xformers')
        return reference(q, k, v, scale)

    flash = types.ModuleType('flash_attn')
    flash.flash_attn_func = flash_attn_func
    xops = types.ModuleType('xformers.ops')
    xops.memory_efficient_attention = memory_efficient_attention
    xformers = types.ModuleType('xformers')
    xformers.ops = xops
    monkeypatch.setitem(sys.modules, 'flash_attn', flash)
    monkeypatch.setitem(sys.modules, 'xformers', xformers)
    monkeypatch.setitem(sys.modules, 'xformers.ops', xops)
    monkeypatch.setattr(attention, 'backend_installed', lambda b: True)


@pytest.mark.parametrize('backend', ['flash', 'xformers'])
def test_optional_backend_dispatch(monkeypatch, official_tiny,
                                   reference_io, backend):
    """Layout and the D-block scales reach the optional kernels."""
    calls = []
    _install_fake_kernels(monkeypatch, calls)
    monkeypatch.setattr(attention, '_unsupported_reason', lambda b, q: '')
    model = pretrained_tiny(official_tiny, attn_backend=backend)
    with torch.no_grad():
        feats = model(reference_io['dense_input'])
    assert calls and set(calls) == {backend}
    assert_dense_match(feats, reference_io)


def test_optional_backend_falls_back_on_cpu(monkeypatch):
    calls = []
    _install_fake_kernels(monkeypatch, calls)
    monkeypatch.setattr(attention, '_warned', set())
    q, k, v = torch.randn(3, 2, 4, 10, 8).unbind(0)
    with pytest.warns(UserWarning, match="falls back to 'sdpa'"):
        out = attention.multi_head_attention(q, k, v, 0.3, 'flash')
    assert not calls
    expected = attention.multi_head_attention(q, k, v, 0.3, 'math')
    torch.testing.assert_close(out, expected)


def test_backends_agree_on_random_attention():
    q, k, v = torch.randn(3, 2, 4, 50, 32).unbind(0)
    k = k[:, :, :16]
    v = v[:, :, :16]
    a = attention.multi_head_attention(q, k, v, 0.7, 'sdpa')
    b = attention.multi_head_attention(q, k, v, 0.7, 'math')
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ errors
def test_wrong_input_channels():
    with pytest.raises(ValueError, match='in_channels=3.*4 channels'):
        LeMeViT('tiny')(torch.randn(1, 4, 64, 64))


def test_non_4d_input():
    with pytest.raises(ValueError, match='4-D'):
        LeMeViT('tiny')(torch.randn(3, 64, 64))


def test_too_small_input():
    with pytest.raises(ValueError, match='at least 32x32'):
        LeMeViT('tiny')(torch.randn(1, 3, 16, 64))


def test_unknown_arch():
    with pytest.raises(ValueError, match="Unknown LeMeViT arch 'huge'"):
        LeMeViT('huge')


def test_incomplete_arch_dict():
    with pytest.raises(ValueError, match='lacks.*depths'):
        LeMeViT(dict(embed_dims=[64, 64, 128, 192, 320]))
    with pytest.raises(ValueError, match='five entries'):
        LeMeViT(dict(embed_dims=[64, 64, 128], depths=[1, 2, 2]))


def test_bad_out_indices():
    with pytest.raises(ValueError, match='out_indices'):
        LeMeViT('tiny', out_indices=(0, 1))


def test_checkpoint_that_does_not_fit(official_tiny):
    model = LeMeViT('small', init_cfg=dict(type='Pretrained',
                                           checkpoint=official_tiny))
    with pytest.raises(ValueError, match='does not fit.*shapes differ'):
        model.init_weights()


def test_checkpoint_that_is_not_lemevit(tmp_path):
    torch.save({'state_dict': {'conv.weight': torch.zeros(3)}},
               tmp_path / 'other.pth')
    model = LeMeViT('tiny')
    with pytest.raises(ValueError, match='no LeMeViT backbone weight'):
        model.load_pretrained(str(tmp_path / 'other.pth'))


def test_missing_checkpoint_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        LeMeViT('tiny').load_pretrained(str(tmp_path / 'nope.pth'))


@pytest.mark.trained_weights
def test_training_path_matches_reference(official_tiny, reference_io):
    """With autograd on, the plain (unfused) ops run: same numbers."""
    model = pretrained_tiny(official_tiny)
    feats = model(reference_io['dense_input'])
    assert feats[-1].requires_grad
    assert_dense_match(feats, reference_io)


def test_inference_uses_fused_kernels_and_channels_last():
    from lemevit_mm.models.utils import fast_inference
    if not fast_inference.ONEDNN:
        pytest.skip('PyTorch built without oneDNN')
    model = LeMeViT('tiny').eval()
    with torch.no_grad(), torch.profiler.profile() as prof:
        feats = model(torch.randn(1, 3, 64, 64))
    names = [event.name for event in prof.events()]
    # every block linear is fused, except the projections of the image
    # tokens in C and D blocks, which are folded into the meta tokens (C:
    # 4; D: 6, the last one 3 as its meta output is unused; S: 4 without
    # the meta branch): 4 + 3*6 + 3 + 10*4; D blocks read the meta tokens
    # with two batched matmuls; only the meta-token projections of stages
    # 0-2 (2 linears of 16 tokens each) stay plain
    assert names.count('mkldnn::_linear_pointwise') == 65
    assert names.count('aten::baddbmm') == 2 * 4
    assert names.count('aten::addmm') == 6
    # the stem and the downsampling convolutions with their batch norms
    # folded in (and the stem's GELU fused)
    assert names.count('mkldnn::_convolution_pointwise') == 5
    assert 'aten::native_batch_norm' not in names
    for feat in feats:  # no re-layout copies on the way out
        assert feat.is_contiguous(memory_format=torch.channels_last)


def test_fused_and_plain_paths_agree_in_bf16():
    model = LeMeViT('tiny', out_meta_tokens=True).eval()
    x = torch.randn(2, 3, 64, 96)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        with torch.no_grad():
            fused = model(x)
        plain = model(x)
    for a, b in zip(fused, plain):
        assert a.shape == b.shape and a.dtype == b.dtype
        a, b = a.float(), b.detach().float()
        assert (a - b).abs().max() < 0.05 * b.abs().max()


def test_symbolic_softmax_scale_equals_float_scale():
    from lemevit_mm.models.backbones.lemevit import DualCrossAttention
    attn = DualCrossAttention(128)
    exact = attn.image_scale(784, 16)
    symbolic = attn.image_scale(torch.tensor(784.), torch.tensor(16.))
    assert isinstance(exact, float) and torch.is_tensor(symbolic)
    assert abs(symbolic.item() - exact) < 1e-7
    assert abs(exact - math.log(16) / math.log(784) * 128**-0.5) < 1e-12
