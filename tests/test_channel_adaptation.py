"""N-band LeMeViT from RGB checkpoints: the stem adaptation math, band
order, the loaded model's outputs, the converter and the errors."""
import logging
import sys

import pytest
import torch
from mmengine.logging import MMLogger

from lemevit_mm.models import LeMeViT
from lemevit_mm.models.utils.channel_adaptation import (adapt_rgb_filters,
                                                        parse_rgb_bands)

from helpers import load_tool, run_tool

# A small LeMeViT: every stage type, quick on a CPU.
SMALL_ARCH = dict(embed_dims=[32, 32, 64, 64, 96], depths=[1, 1, 1, 2, 1])
SIZE = 64
CONVERTER = 'tools/model_converters/lemevit_adapt_channels.py'


@pytest.fixture
def rgb_filters() -> torch.Tensor:
    return torch.randn(8, 3, 3, 3)


@pytest.fixture
def rgb_checkpoint(tmp_path) -> tuple:
    """A random RGB LeMeViT saved as a segmentor's MMEngine checkpoint
    (``backbone.`` prefix; batch norm statistics not the defaults), and
    that model in eval mode."""
    model = LeMeViT(SMALL_ARCH)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.3, 0.3)
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    state['decode_head.conv_seg.weight'] = torch.zeros(5, 16, 1, 1)
    path = tmp_path / 'rgb.pth'
    torch.save({'state_dict': state, 'meta': {'note': 'rgb'}}, path)
    return str(path), model.eval()


def converter():
    return load_tool(CONVERTER)


def adapted_model(checkpoint: str, in_channels: int, **init) -> LeMeViT:
    model = LeMeViT(SMALL_ARCH, in_channels=in_channels,
                    init_cfg=dict(type='Pretrained', checkpoint=checkpoint,
                                  **init))
    model.init_weights()
    return model.eval()


def outputs(model: LeMeViT, x: torch.Tensor, fused: bool) -> tuple:
    """The model's maps; ``fused``: the inference path (folded batch
    norms, oneDNN kernels), else the plain autograd path."""
    if fused:
        with torch.no_grad():
            return model(x)
    return tuple(out.detach() for out in model(x.requires_grad_()))


def assert_same(got: tuple, want: tuple, atol: float = 1e-5) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=atol, rtol=0)


# ------------------------------------------------------------- the math
def test_zero_keeps_rgb_and_zeroes_extra_bands(rgb_filters):
    out = adapt_rgb_filters(rgb_filters, 5, 'zero')
    assert out.shape == (8, 5, 3, 3)
    assert torch.equal(out[:, :3], rgb_filters)
    assert not out[:, 3:].any()


def test_mean_fills_extra_bands_and_rescales(rgb_filters):
    out = adapt_rgb_filters(rgb_filters, 4, 'mean')
    torch.testing.assert_close(out[:, :3], rgb_filters * 0.75)
    torch.testing.assert_close(out[:, 3], rgb_filters.mean(1) * 0.75)


def test_repeat_cycles_rgb_and_rescales(rgb_filters):
    out = adapt_rgb_filters(rgb_filters, 7, 'repeat')
    for band in range(7):
        torch.testing.assert_close(out[:, band],
                                   rgb_filters[:, band % 3] * 3 / 7)


@pytest.mark.parametrize('mode,channels', [('mean', 1), ('mean', 4),
                                            ('mean', 13), ('repeat', 6)])
def test_grey_image_response_kept(rgb_filters, mode, channels):
    """Equal bands give the RGB response: the sum over bands is kept
    ('repeat' only for whole RGB cycles)."""
    bands = (None, None, None) if channels == 1 else None
    out = adapt_rgb_filters(rgb_filters, channels, mode, bands)
    torch.testing.assert_close(out.sum(1), rgb_filters.sum(1))


def test_repeat_partial_cycle_changes_grey_response(rgb_filters):
    out = adapt_rgb_filters(rgb_filters, 4, 'repeat')
    assert not torch.allclose(out.sum(1), rgb_filters.sum(1))


@pytest.mark.parametrize('mode', ['zero', 'mean', 'repeat'])
def test_band_order(rgb_filters, mode):
    """rgb_bands=(3, 2, 1): input bands [X, B, G, R, Y]."""
    out = adapt_rgb_filters(rgb_filters, 5, mode, (3, 2, 1))
    scale = 1 if mode == 'zero' else 3 / 5
    for colour, band in enumerate((3, 2, 1)):
        torch.testing.assert_close(out[:, band],
                                   rgb_filters[:, colour] * scale)
    extra = {'zero': [torch.zeros_like(rgb_filters[:, 0])] * 2,
             'mean': [rgb_filters.mean(1) * scale] * 2,
             'repeat': [rgb_filters[:, 0] * scale,
                        rgb_filters[:, 1] * scale]}[mode]
    torch.testing.assert_close(out[:, 0], extra[0])
    torch.testing.assert_close(out[:, 4], extra[1])


def test_bgr_is_a_permutation(rgb_filters):
    for mode in ('zero', 'mean', 'repeat'):
        out = adapt_rgb_filters(rgb_filters, 3, mode, (2, 1, 0))
        assert torch.equal(out, rgb_filters.flip(1))


def test_missing_colour_filter_dropped(rgb_filters):
    """IR-R-G: R and G filters on bands 1 and 2, IR (band 0) filled, the
    blue filter dropped."""
    zero = adapt_rgb_filters(rgb_filters, 3, 'zero', (1, 2, None))
    assert torch.equal(zero[:, 1:], rgb_filters[:, :2])
    assert not zero[:, 0].any()
    mean = adapt_rgb_filters(rgb_filters, 3, 'mean', (1, 2, None))
    torch.testing.assert_close(mean[:, 0], rgb_filters.mean(1))
    assert torch.equal(mean[:, 1:], rgb_filters[:, :2])


@pytest.mark.parametrize('bands,message', [
    ((0, 1), 'three entries'),
    ((0, 1, 4), 'B band 4 is not an input band'),
    ((0, -1, 2), 'G band -1 is not an input band'),
    ((0, 1.0, 2), 'G band 1.0'),
    ((1, 1, 2), 'two colours on the same band'),
    ((None, None, None), "names no R, G or B band: 'zero'"),
])
def test_bad_rgb_bands(bands, message):
    with pytest.raises(ValueError, match=message):
        parse_rgb_bands(bands, 4, 'zero')


def test_default_rgb_bands_need_three_bands():
    with pytest.raises(ValueError, match='in_channels=2 has no room'):
        parse_rgb_bands(None, 2, 'mean')


def test_bad_mode(rgb_filters):
    with pytest.raises(ValueError, match='adapt_channels must be one of'):
        adapt_rgb_filters(rgb_filters, 4, 'avg')


# ------------------------------------------------------ the loaded model
@pytest.mark.parametrize('fused', [True, False])
@pytest.mark.parametrize('channels,rgb_bands', [(4, None), (5, (3, 2, 1))])
def test_zero_model_equals_rgb_model(rgb_checkpoint, fused, channels,
                                     rgb_bands):
    """Output on the N bands = the RGB model's on the R, G, B bands,
    whatever the other bands hold (fused inference path and autograd
    path, so the stem's batch-norm folding works with N channels)."""
    path, rgb_model = rgb_checkpoint
    model = adapted_model(path, channels, adapt_channels='zero',
                          rgb_bands=rgb_bands)
    x = torch.randn(2, channels, SIZE, SIZE) * 3
    bands = list(rgb_bands or (0, 1, 2))
    want = outputs(rgb_model, x[:, bands].clone(), fused)
    assert_same(outputs(model, x.clone(), fused), want)


def test_zero_model_with_missing_blue(rgb_checkpoint):
    """IR-R-G with rgb_bands=(1, 2, None): the RGB model on [R, G, 0]."""
    path, rgb_model = rgb_checkpoint
    model = adapted_model(path, 3, adapt_channels='zero',
                          rgb_bands=(1, 2, None))
    x = torch.randn(2, 3, SIZE, SIZE)
    rgb = torch.cat([x[:, 1:], torch.zeros(2, 1, SIZE, SIZE)], 1)
    assert_same(outputs(model, x, True), outputs(rgb_model, rgb, True))


@pytest.mark.parametrize('mode,channels', [('mean', 4), ('repeat', 6)])
def test_grey_input_gives_rgb_output(rgb_checkpoint, mode, channels):
    path, rgb_model = rgb_checkpoint
    model = adapted_model(path, channels, adapt_channels=mode)
    grey = torch.randn(2, 1, SIZE, SIZE)
    assert_same(outputs(model, grey.expand(-1, channels, -1, -1), True),
                outputs(rgb_model, grey.expand(-1, 3, -1, -1), True),
                atol=1e-4)


def test_only_the_stem_changes(rgb_checkpoint):
    path, rgb_model = rgb_checkpoint
    model = adapted_model(path, 4, adapt_channels='mean')
    rgb_state = rgb_model.state_dict()
    for key, value in model.state_dict().items():
        if key == 'stem.0.weight':
            assert value.shape == (16, 4, 3, 3)
            torch.testing.assert_close(value[:, :3],
                                       rgb_state[key] * 0.75)
        else:
            assert torch.equal(value, rgb_state[key]), key


def test_frozen_stem_with_zero_filters_warns(rgb_checkpoint):
    path, _ = rgb_checkpoint
    logger = MMLogger.get_instance('test_channel_adaptation_frozen')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        model = LeMeViT(SMALL_ARCH, in_channels=4, frozen_stages=0,
                        init_cfg=dict(type='Pretrained', checkpoint=path,
                                      adapt_channels='zero'))
        model.init_weights()
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records
                if r.levelno == logging.WARNING]
    assert any('zero filters of bands [3] never train' in m
               for m in messages), messages


def test_channel_mismatch_without_adapt_channels(rgb_checkpoint):
    path, _ = rgb_checkpoint
    with pytest.raises(ValueError, match=r"(?s)does not fit.*in_channels=4"
                       r".*stem\.0\.weight.*adapt_channels='zero'"):
        adapted_model(path, 4)


def test_rgb_bands_without_adapt_channels(rgb_checkpoint):
    path, _ = rgb_checkpoint
    with pytest.raises(ValueError, match='rgb_bands is set without'):
        adapted_model(path, 4, rgb_bands=(0, 1, 2))


def test_unknown_init_cfg_key(rgb_checkpoint):
    path, _ = rgb_checkpoint
    with pytest.raises(ValueError, match=r"Unknown LeMeViT init_cfg keys "
                       r"\['adapt_channel'\]"):
        adapted_model(path, 4, adapt_channel='zero')


def test_bad_mode_in_init_cfg(rgb_checkpoint):
    path, _ = rgb_checkpoint
    with pytest.raises(ValueError,
                       match='init_cfg.adapt_channels must be one of'):
        adapted_model(path, 4, adapt_channels='zeros')


def test_non_rgb_checkpoint_refused(tmp_path):
    path = tmp_path / 'five.pth'
    torch.save({'state_dict': LeMeViT(SMALL_ARCH,
                                      in_channels=5).state_dict()}, path)
    with pytest.raises(ValueError, match='adapts RGB checkpoints.*5 input '
                       'channels.*in_channels=4'):
        adapted_model(str(path), 4, adapt_channels='zero')


# --------------------------------------------------------- the converter
def test_converter_writes_loadable_n_band_checkpoint(rgb_checkpoint,
                                                     tmp_path):
    path, _ = rgb_checkpoint
    dst = tmp_path / 'out' / 'rgbir.pth'
    output = run_tool(CONVERTER, path, str(dst), '--in-channels', '4',
                      '--mode', 'repeat', '--rgb-bands', '2', '1', '0')
    assert "3 to 4 bands ('repeat')" in output
    saved = torch.load(dst, weights_only=True)
    meta = saved['meta']
    assert (meta['in_channels'], meta['adapt_channels'],
            meta['rgb_bands'], meta['note']) == (4, 'repeat', [2, 1, 0],
                                                 'rgb')
    assert meta['adapted_weights'] == ['backbone.stem.0.weight']
    assert 'decode_head.conv_seg.weight' in saved['state_dict']
    # Loads as a plain 4-band checkpoint, equal to adapting on the fly.
    plain = adapted_model(str(dst), 4)
    on_the_fly = adapted_model(path, 4, adapt_channels='repeat',
                               rgb_bands=(2, 1, 0))
    x = torch.randn(1, 4, SIZE, SIZE)
    assert_same(outputs(plain, x, True), outputs(on_the_fly, x, True),
                atol=0)
    # The adapted checkpoint needs no second adaptation.
    again = adapted_model(str(dst), 4, adapt_channels='repeat')
    assert_same(outputs(again, x, True), outputs(plain, x, True), atol=0)


def test_converter_on_authors_checkpoint(official_tiny, tmp_path):
    dst = tmp_path / 'tiny_4band.pth'
    meta = converter().adapt_checkpoint(official_tiny, str(dst), 4)
    assert meta['source_layout'] == 'authors'
    assert meta['adapt_channels'] == 'zero'  # the default
    saved = torch.load(dst, weights_only=True)
    stem = saved['state_dict']['backbone.stem.0.weight']
    assert stem.shape == (32, 4, 3, 3) and not stem[:, 3].any()
    assert 'head.fc.weight' in saved['state_dict']
    model = LeMeViT('tiny', in_channels=4, init_cfg=dict(
        type='Pretrained', checkpoint=str(dst)))
    model.init_weights()
    torch.testing.assert_close(model.stem[0].weight, stem, rtol=0, atol=0)


def test_converter_errors(rgb_checkpoint, tmp_path, monkeypatch, capsys):
    path, _ = rgb_checkpoint
    tool = converter()
    dst = tmp_path / 'never.pth'
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'conv.weight': torch.zeros(4, 3, 3, 3)}},
               other)
    with pytest.raises(ValueError, match='holds no LeMeViT stem'):
        tool.adapt_checkpoint(str(other), str(dst), 4)
    with pytest.raises(ValueError, match='--rgb-bands.*B band 7 is not'):
        tool.adapt_checkpoint(path, str(dst), 4, 'mean', (0, 1, 7))
    five = tmp_path / 'five.pth'
    torch.save({'state_dict': LeMeViT(SMALL_ARCH,
                                      in_channels=5).state_dict()}, five)
    with pytest.raises(ValueError, match='5 input channels; only RGB'):
        tool.adapt_checkpoint(str(five), str(dst), 4)
    for argv, message in (
            ([path, str(dst), '--in-channels', '4', '--rgb-bands', '0', 'x',
              '1'], 'a band is a 0-based index or "none"'),
            ([str(other), str(dst), '--in-channels', '4'],
             'error: ' + str(other))):
        monkeypatch.setattr(sys, 'argv', [CONVERTER, *argv])
        with pytest.raises(SystemExit) as exit_info:
            tool.main()
        assert exit_info.value.code != 0
        assert message in capsys.readouterr().err + str(
            exit_info.value.code)
    assert not dst.exists()
