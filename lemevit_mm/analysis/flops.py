"""Parameters and MACs of models and configs, beside the published numbers.

Counter: PyTorch's dispatch-level ``torch.utils.flop_counter.FlopCounterMode``
(no tracing, so any config's Python control flow is fine), reported as
multiply-accumulates (its FLOPs / 2). It counts matrix products (linear
layers, ``matmul``/``bmm``, attention products) and convolutions. It does
not see: normalisation, activations, softmax, element-wise additions,
pooling, interpolation, and custom C++/CUDA ops such as mmcv's rotated
RoIAlign and NMS (together well under 1% of these models). LeMeViT runs
with the explicit ``'math'`` attention backend while counted, so the
attention matrix products (``q @ k^T`` and ``attn @ v``) are included; they
are also listed on their own (column "attn"), because a counter that
traces a fused attention kernel (fvcore, as most papers use) misses them.

A config runs its ``'tensor'`` forward (what OpenMMLab's own get_flops
tools count): classifier up to the logits, segmentor up to the decode
head's logits, two-stage detector up to the RoI head's outputs for the
RPN proposals, Siamese change detector on both dates.

``tools/analysis_tools/get_flops.py`` is the command line.
"""
import os.path as osp
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .model_specs import build_model_spec, input_channels, input_size_pair

__all__ = [
    'Published', 'PUBLISHED', 'Complexity', 'count_parameters', 'measure',
    'paper_table', 'models_table'
]


class Published(NamedTuple):
    config: str
    size: int
    params_m: float
    macs_g: Optional[float]


# The paper's numbers: params (M), MACs (G) as published.
PUBLISHED: Tuple[Published, ...] = (
    Published('configs/cls/lemevit_t_in1k.py', 224, 8.64, 1.68),
    Published('configs/cls/lemevit_s_in1k.py', 224, 16.40, 3.74),
    Published('configs/cls/lemevit_b_in1k.py', 224, 53.10, 11.06),
    Published('configs/cls/lemevit_t_millionaid.py', 224, 8.33, 1.78),
    Published('configs/cls/lemevit_s_millionaid.py', 224, 16.04, None),
    Published('configs/cls/lemevit_b_millionaid.py', 224, 52.61, None),
    Published('configs/seg/lemevit_t_upernet_potsdam.py', 512, 37.05,
              217.88),
    Published('configs/seg/lemevit_s_upernet_potsdam.py', 512, 45.59,
              228.16),
    Published('configs/seg/lemevit_b_upernet_potsdam.py', 512, 83.19,
              263.75),
    Published('configs/det/lemevit_t_oriented-rcnn_dota.py', 1024, 25.37,
              154.12),
    Published('configs/det/lemevit_s_oriented-rcnn_dota.py', 1024, 33.15,
              193.91),
    Published('configs/det/lemevit_b_oriented-rcnn_dota.py', 1024, 69.76,
              335.53),
    Published('configs/cd/lemevit_t_bit_cdd.py', 256, 8.56, 5.75),
    Published('configs/cd/lemevit_s_bit_cdd.py', 256, 16.75, 10.71),
    Published('configs/cd/lemevit_b_bit_cdd.py', 256, 53.34, 28.47),
)


class Complexity(NamedTuple):
    params: int
    macs: float
    attn_macs: float


def count_parameters(model: nn.Module) -> int:
    """All parameters, trainable or not (checkpoints hold them all)."""
    return sum(p.numel() for p in model.parameters())


def measure(spec: str, size: Tuple[int, int]) -> Complexity:
    """Parameters and MACs of one spec at one input size (batch 1)."""
    from torch.utils.flop_counter import FlopCounterMode
    model, forward = build_model_spec(spec, attn_backend='math',
                                      input_size=size, batch_size=1,
                                      mode='tensor')
    params = count_parameters(model)
    model.requires_grad_(False)  # no autograd graph, plain ops
    inputs = torch.randn(1, input_channels(model), *size)
    counter = FlopCounterMode(display=False)
    with counter:
        forward(inputs)
    total = counter.get_total_flops()
    per_op = counter.get_flop_counts().get('Global', {})
    attn = sum(v for k, v in per_op.items()
               if str(k).split('.')[-1].startswith(('bmm', 'baddbmm')))
    return Complexity(params, total / 2, attn / 2)


def percent(ours: float, published: Optional[float]) -> str:
    if published is None:
        return '-'
    return f'{100 * (ours - published) / published:+.1f}%'


def paper_table(root: str, only: Optional[str] = None) -> str:
    """The table of :data:`PUBLISHED`: every config of the paper (under
    the checkout ``root``) at its input size, beside the published
    numbers; only the configs whose path contains ``only`` if given."""
    lines = [
        '| config | input | params (M) | published | diff | MACs (G) | '
        'attn (G) | MACs - attn | published | diff (MACs - attn) |',
        '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|'
    ]
    for row in PUBLISHED:
        if only and only not in row.config:
            continue
        path = osp.join(root, row.config)
        if not osp.isfile(path):
            lines.append(f'| {row.config} | missing | | | | | | | | |')
            continue
        size = row.size
        result = measure(path, (size, size))
        params_m = result.params / 1e6
        macs, attn = result.macs / 1e9, result.attn_macs / 1e9
        pub_macs = '-' if row.macs_g is None else f'{row.macs_g:.2f}'
        pair = ' pair' if '/cd/' in row.config else ''
        lines.append(
            f'| {row.config} | {size}x{size}{pair} | {params_m:.2f} | '
            f'{row.params_m:.2f} | {percent(params_m, row.params_m)} | '
            f'{macs:.2f} | {attn:.2f} | {macs - attn:.2f} | {pub_macs} | '
            f'{percent(macs - attn, row.macs_g)} |')
        print(lines[-1], flush=True)
    return '\n'.join(lines) + '\n'


def models_table(specs: Sequence[str], input_size: Optional[Sequence[int]],
                 root: str) -> str:
    """Parameters and MACs of model specs at ``input_size`` (H [W]), or at
    the paper's size of a config of :data:`PUBLISHED` (paths relative to
    the checkout ``root``), else 224."""
    paper_sizes = {osp.normpath(row.config): row.size for row in PUBLISHED}
    lines = ['| model | input | params | MACs (G) | attn (G) |',
             '|---|---|---:|---:|---:|']
    for spec in specs:
        if input_size:
            size = input_size_pair(input_size)
        else:
            rel = osp.normpath(osp.relpath(osp.abspath(spec), root))
            side = paper_sizes.get(rel, 224)
            size = (side, side)
        result = measure(spec, size)
        lines.append(f'| {spec} | {size[0]}x{size[1]} | {result.params:,} '
                     f'| {result.macs / 1e9:.3f} | '
                     f'{result.attn_macs / 1e9:.3f} |')
    return '\n'.join(lines) + '\n'


