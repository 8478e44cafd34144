"""LeMeViT-tiny and -small against the authors' float64 outputs on
seeded weights (``tests/data/seeded``): what a fresh clone checks.

float64: equal to 1e-9 relative (``max|ours - theirs| / max|theirs|``),
on the plain layers (autograd on; the backbone also on the inference
rewrites, no grad). float32: the max abs error stays within 5x the
authors' own float32 error, on both paths.
"""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import lemevit_mm  # noqa: F401
from lemevit_mm.models.official_checkpoint import (
    convert_official_backbone, convert_official_classifier)
from lemevit_mm.testing import seeded_reference as seeded
from lemevit_mm.testing.seeded_reference import (SeededReferenceError,
                                                 load_seeded_reference,
                                                 relative_error,
                                                 seeded_backbone,
                                                 seeded_classifier)

from helpers import FP32_ERROR_FACTOR, REPO, SEEDED_DATA, build_model

FP64_RTOL = 1e-9
CLS_CONFIGS = dict(tiny='lemevit_t_in1k.py', small='lemevit_s_in1k.py')
PATHS = ('plain', 'fused')


@pytest.fixture(scope='module', params=seeded.SEEDED_ARCHS)
def reference(request) -> seeded.SeededReference:
    return load_seeded_reference(SEEDED_DATA, request.param)


@pytest.fixture(scope='module')
def config_classifier(reference):
    """The classifier of ``configs/cls`` (mmpretrain) with the seeded
    weights, in eval mode."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'cls',
                                   CLS_CONFIGS[reference.arch]))
    model = build_model(cfg)
    model.load_state_dict(convert_official_classifier(reference.weights),
                          strict=True)
    return model.eval()


def run(model, inputs, dtype, path):
    """``model(inputs)`` in ``dtype`` on the plain or the fused path."""
    model = model.to(dtype)
    inputs = inputs.to(dtype)
    if path == 'fused':
        with torch.no_grad():
            return model(inputs)
    outputs = model(inputs)
    first = outputs if torch.is_tensor(outputs) else outputs[0]
    assert first.requires_grad  # autograd on: the plain layers ran
    return outputs


def test_data_is_in_the_repository():
    for arch in seeded.SEEDED_ARCHS:
        for path in (seeded.recipe_path(SEEDED_DATA, arch),
                     seeded.io_path(SEEDED_DATA, arch)):
            assert osp.isfile(path), path


def test_weights_follow_the_recipe(reference):
    recipe = seeded.load_recipe(seeded.recipe_path(SEEDED_DATA,
                                                   reference.arch))
    assert list(reference.weights) == recipe['order']
    again = seeded.regenerate_weights(recipe)
    for key, (kind, shape, low, width) in recipe['tensors'].items():
        value = reference.weights[key]
        assert list(value.shape) == shape and torch.equal(value, again[key])
        if kind == 'zeros_long':
            assert value.dtype == torch.long and not value.any()
        elif kind == 'uniform':
            assert low <= value.min() and value.max() <= low + width
    # the authors' names: the backbone converts all but the head
    own = seeded_backbone(reference).state_dict()
    assert set(convert_official_backbone(reference.weights)) == set(own)
    assert reference.cls_input.shape == tuple(recipe['cls_input_shape'])


@pytest.mark.parametrize('path', PATHS)
def test_backbone_float64_equals_authors(reference, path):
    feats = run(seeded_backbone(reference), reference.dense_input,
                torch.float64, path)
    errors = seeded.errors_against(feats, reference.dense_feats,
                                   relative_error)
    assert max(errors) < FP64_RTOL, errors


def test_classifier_float64_equals_authors(reference, config_classifier):
    """The plain layers (float64 convolutions are slow on the CPU; the
    rewrites are checked in float64 on the backbone above)."""
    model = config_classifier.double()
    logits = model(reference.cls_input.double(), mode='tensor')
    assert logits.requires_grad
    error = relative_error(logits, reference.cls_logits)
    assert error < FP64_RTOL, error


@pytest.mark.parametrize('path', PATHS)
def test_float32_error_within_authors(reference, config_classifier, path):
    bound = FP32_ERROR_FACTOR
    feats = run(seeded_backbone(reference), reference.dense_input,
                torch.float32, path)
    errors = seeded.errors_against(feats, reference.dense_feats)
    for error, authors in zip(errors, reference.fp32_error['dense']):
        assert error < bound * authors, (errors, reference.fp32_error)
    model = config_classifier.float()
    with torch.no_grad() if path == 'fused' else torch.enable_grad():
        logits = model(reference.cls_input, mode='tensor')
    error = seeded.max_abs_error(logits, reference.cls_logits)
    assert error < bound * reference.fp32_error['cls'], error


def test_plain_classifier_is_the_config_classifier(reference,
                                                   config_classifier):
    """The mmpretrain-free classifier of tools/gpu_check.py computes what
    the configs' ImageClassifier computes, with the same weight names,
    renamed as the classification converter renames them."""
    from lemevit_mm.cls import official
    renamed = convert_official_classifier(reference.weights)
    converted = official.convert_official_classifier(reference.weights)
    assert list(renamed) == list(converted)
    assert all(renamed[k] is converted[k] for k in renamed)
    plain = seeded_classifier(reference)
    assert set(plain.state_dict()) == set(config_classifier.state_dict())
    x = reference.cls_input[:1, :, :64, :64]
    with torch.no_grad():
        expected = config_classifier.float()(x, mode='tensor')
        assert torch.equal(plain(x), expected)


def test_bad_recipes_are_clear_errors(tmp_path):
    with pytest.raises(SeededReferenceError, match='not found.*nope'):
        load_seeded_reference(str(tmp_path / 'nope'), 'tiny')
    with pytest.raises(SeededReferenceError, match="for 'base'"):
        load_seeded_reference(SEEDED_DATA, 'base')
    recipe = seeded.load_recipe(seeded.recipe_path(SEEDED_DATA, 'tiny'))
    recipe['tensors']['meta_tokens'][0] = 'laplace'
    with pytest.raises(SeededReferenceError,
                       match="unknown kind 'laplace' for meta_tokens"):
        seeded.regenerate_weights(recipe)
    del recipe['order']
    path = tmp_path / 'recipe_tiny.json'
    path.write_text(json.dumps(recipe))
    with pytest.raises(SeededReferenceError, match=r"lacks \['order'\]"):
        seeded.load_recipe(str(path))
