"""Seeded reference weights: the authors' outputs without their 35 MB file.

For LeMeViT-tiny and -small, a recipe (``recipe_<arch>.json``) regenerates
a full classifier state dict in the authors' key names and order from one
seed, and ``lemevit_<arch>_seeded_io.pt`` holds what the authors' code
computes with it in float64: ``dense_feats_fp64`` (the four maps of the
``dense_input``), ``cls_logits_fp64`` (the logits of the ``cls_input``),
and ``fp32_error_of_authors`` (their own float32 error against that).

Recipe semantics: one ``torch.Generator().manual_seed(seed)``; for each key
of ``order`` in turn, ``tensors[key] = [kind, shape, a, b]`` draws
``a + b * randn(shape)`` (``'normal'``), ``a + b * rand(shape)``
(``'uniform'``), or is a zero long tensor that draws nothing
(``'zeros_long'``). The inputs come from a second generator seeded with
``input_seed``: first ``cls_input = randn(cls_input_shape)``, then
``dense_input = randn(dense_input_shape)``.

Used by the test suite and by ``tools/gpu_check.py`` (which runs with only
torch, mmengine and mmcv), so nothing here needs a task package; the
classifier without mmpretrain is
:class:`~lemevit_mm.testing.reference_models.PlainClassifier`.
"""
import json
import os.path as osp
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor

from ..models.backbones.lemevit import LeMeViT
from ..models.official_checkpoint import (convert_official_backbone,
                                          convert_official_classifier)
from .reference_models import PlainClassifier

SEEDED_ARCHS = ('tiny', 'small')
RECIPE_KEYS = ('variant', 'seed', 'input_seed', 'cls_input_shape',
               'dense_input_shape', 'order', 'tensors')


class SeededReferenceError(ValueError):
    """A recipe or reference file that cannot be used, naming the file."""


def recipe_path(data_dir: str, arch: str) -> str:
    return osp.join(data_dir, f'recipe_{arch}.json')


def io_path(data_dir: str, arch: str) -> str:
    return osp.join(data_dir, f'lemevit_{arch}_seeded_io.pt')


def load_recipe(path: str) -> dict:
    """Read and check a ``recipe_<arch>.json``."""
    if not osp.isfile(path):
        raise SeededReferenceError(f'seeded recipe not found: {path}')
    try:
        with open(path) as file:
            recipe = json.load(file)
    except json.JSONDecodeError as err:
        raise SeededReferenceError(f'{path} is not JSON: {err}') from None
    missing = [key for key in RECIPE_KEYS if key not in recipe]
    if missing:
        raise SeededReferenceError(f'{path} lacks {missing}')
    unlisted = [key for key in recipe['order']
                if key not in recipe['tensors']]
    if unlisted or len(recipe['order']) != len(recipe['tensors']):
        raise SeededReferenceError(
            f'{path}: "order" and "tensors" do not name the same keys '
            f'(e.g. {unlisted[:3]})')
    return recipe


def regenerate_weights(recipe: dict) -> 'OrderedDict[str, Tensor]':
    """The recipe's state dict, in the authors' key names and order
    (float32, and int64 for the batch-norm counters)."""
    generator = torch.Generator().manual_seed(int(recipe['seed']))
    state: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key in recipe['order']:
        kind, shape, loc, scale = recipe['tensors'][key]
        if kind == 'normal':
            value = loc + scale * torch.randn(shape, generator=generator)
        elif kind == 'uniform':
            value = loc + scale * torch.rand(shape, generator=generator)
        elif kind == 'zeros_long':
            value = torch.zeros(shape, dtype=torch.long)
        else:
            raise SeededReferenceError(
                f'recipe of {recipe["variant"]}: unknown kind {kind!r} '
                f"for {key} (expected 'normal', 'uniform' or 'zeros_long')")
        state[key] = value
    return state


def make_inputs(recipe: dict) -> Tuple[Tensor, Tensor]:
    """``(cls_input, dense_input)`` of the recipe, float32."""
    generator = torch.Generator().manual_seed(int(recipe['input_seed']))
    cls_input = torch.randn(recipe['cls_input_shape'], generator=generator)
    dense_input = torch.randn(recipe['dense_input_shape'],
                              generator=generator)
    return cls_input, dense_input


@dataclass
class SeededReference:
    """Weights, inputs and the authors' outputs of one seeded model.

    Attributes:
        arch (str): ``'tiny'`` or ``'small'``.
        weights (OrderedDict): The authors'-layout classifier state dict.
        cls_input (Tensor): ``(B, 3, 224, 224)`` float32.
        dense_input (Tensor): ``(B, 3, H, W)`` float32.
        cls_logits (Tensor): The authors' float64 logits of ``cls_input``.
        dense_feats (list[Tensor]): The authors' float64 maps of
            ``dense_input`` (strides 4, 8, 16, 32).
        fp32_error (dict): The authors' own float32 error against float64,
            ``{'cls': float, 'dense': [float] * 4}``, measured as
            :func:`max_abs_error`.
    """
    arch: str
    weights: 'OrderedDict[str, Tensor]'
    cls_input: Tensor
    dense_input: Tensor
    cls_logits: Tensor
    dense_feats: List[Tensor]
    fp32_error: Dict[str, object]


def load_seeded_reference(data_dir: str, arch: str) -> SeededReference:
    """Regenerate the weights and inputs of ``arch`` and load the authors'
    outputs, from ``recipe_<arch>.json`` and ``lemevit_<arch>_seeded_io.pt``
    in ``data_dir``."""
    if arch not in SEEDED_ARCHS:
        raise SeededReferenceError(
            f'no seeded reference for {arch!r}; there are {SEEDED_ARCHS}')
    recipe = load_recipe(recipe_path(data_dir, arch))
    if recipe['variant'] != arch:
        raise SeededReferenceError(
            f'{recipe_path(data_dir, arch)} is the recipe of '
            f'{recipe["variant"]!r}, not {arch!r}')
    path = io_path(data_dir, arch)
    if not osp.isfile(path):
        raise SeededReferenceError(f'seeded reference outputs not found: '
                                   f'{path}')
    outputs = torch.load(path, weights_only=True)
    missing = {'cls_logits_fp64', 'dense_feats_fp64',
               'fp32_error_of_authors'} - set(outputs)
    if missing:
        raise SeededReferenceError(f'{path} lacks {sorted(missing)}')
    cls_input, dense_input = make_inputs(recipe)
    return SeededReference(
        arch=arch, weights=regenerate_weights(recipe), cls_input=cls_input,
        dense_input=dense_input, cls_logits=outputs['cls_logits_fp64'],
        dense_feats=list(outputs['dense_feats_fp64']),
        fp32_error=outputs['fp32_error_of_authors'])


def seeded_backbone(reference: SeededReference,
                    **kwargs) -> LeMeViT:
    """A LeMeViT (four dense maps) with the seeded weights, in eval mode;
    ``kwargs`` go to :class:`LeMeViT`."""
    model = LeMeViT(reference.arch, **kwargs)
    model.load_state_dict(convert_official_backbone(reference.weights),
                          strict=True)
    return model.eval()


def seeded_classifier(reference: SeededReference,
                      **kwargs) -> PlainClassifier:
    """A :class:`PlainClassifier` with the seeded weights, in eval mode."""
    model = PlainClassifier(reference.arch, **kwargs)
    model.load_state_dict(convert_official_classifier(reference.weights),
                          strict=True)
    return model.eval()


def max_abs_error(output: Tensor, reference: Tensor) -> float:
    """``max |output - reference|``, computed in float64 on the CPU."""
    if output.shape != reference.shape:
        raise ValueError(f'shape {tuple(output.shape)} differs from the '
                         f'reference {tuple(reference.shape)}')
    diff = output.detach().double().cpu() - reference.double().cpu()
    return diff.abs().max().item()


def relative_error(output: Tensor, reference: Tensor) -> float:
    """``max |output - reference| / max |reference|`` (NaN stays NaN)."""
    scale = reference.double().abs().max().item()
    return max_abs_error(output, reference) / scale


def errors_against(outputs: Sequence[Tensor], references: Sequence[Tensor],
                   metric=max_abs_error) -> List[float]:
    """``metric`` of each output against its reference."""
    if len(outputs) != len(references):
        raise ValueError(f'{len(outputs)} outputs, {len(references)} '
                         'references')
    return [metric(out, ref) for out, ref in zip(outputs, references)]
