"""Adapting an RGB checkpoint's stem to N input bands.

Only the first convolution of a LeMeViT sees the input bands; everything
after it is independent of their number. Loading an RGB checkpoint into
``LeMeViT(in_channels=N)`` therefore means building an ``(out, N, k, k)``
filter bank from the pretrained ``(out, 3, k, k)`` one. Three ways
(``adapt_channels``):

- ``'zero'``: the R, G and B filters are kept on the bands that hold R, G
  and B; every other band starts at zero. Before fine-tuning the model is
  exactly the RGB model (its output on ``[R, G, B, anything]`` equals the
  RGB model's on ``[R, G, B]``), and the new bands enter only as far as
  training finds them useful. The safe choice when RGB is the main signal
  and the extra bands add to it (RGB-IR, RGB + DSM).
- ``'mean'``: every other band gets the mean of the R, G and B filters,
  and all filters are scaled by ``3 / N``, so that an image whose bands
  are all equal ("grey") gives the same response as in the RGB model.
  For bands that look like RGB intensities (other optical bands).
- ``'repeat'``: the bands that are not R, G or B get the R, G and B
  filters in turn (R, G, B, R, ... in band order), all scaled by ``3 / N``
  (timm's ``in_chans`` adaptation when the RGB bands come first).

``rgb_bands`` says where R, G and B are among the N bands: a triple of
0-based band indices into the model's input (after any band selection of
the loading pipeline), ``(0, 1, 2)`` by default. ``(2, 1, 0)`` is a BGR
input; Sentinel-2's 13 bands in order (B1-B8, B8A, B9-B12) have B4, B3, B2
at ``(3, 2, 1)``. A colour the input lacks is ``None``: IR-R-G (ISPRS
Vaihingen) is ``(1, 2, None)``. The filter of a missing colour is dropped,
which is the RGB model seeing that colour as zero, i.e. after per-band
normalisation as constant at its dataset mean; in ``'zero'`` mode the IRRG
model's output on ``[IR, R, G]`` equals the RGB model's on ``[R, G, 0]``.
In ``'mean'`` and ``'repeat'`` modes ``rgb_bands`` may name no colour at
all (``(None, None, None)``, e.g. a single panchromatic or SAR band): every
band then gets the mean (or cycled) filter; ``'zero'`` needs at least one.

The extra filters assume the bands are normalised alike (per-band mean and
std in the data preprocessor), so that a filter means the same on each.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor

ADAPT_MODES = ('zero', 'mean', 'repeat')
# What the project's multispectral configs and the converter use; chosen
# by tools/analysis_tools/band_adaptation_benchmark.py (see the README).
DEFAULT_ADAPT_MODE = 'zero'
RGB_NAMES = ('R', 'G', 'B')
DEFAULT_RGB_BANDS = (0, 1, 2)
# The backbone's first convolution: the only weight that sees the bands.
STEM_WEIGHT = 'stem.0.weight'

RgbBands = Tuple[Optional[int], Optional[int], Optional[int]]


def check_adapt_mode(mode: object, key: str = 'adapt_channels') -> str:
    """Return ``mode`` if it is one of :data:`ADAPT_MODES`, else raise a
    ValueError naming ``key``."""
    if mode not in ADAPT_MODES:
        raise ValueError(f'{key} must be one of {ADAPT_MODES}, got '
                         f'{mode!r}.')
    return mode


def parse_rgb_bands(rgb_bands: Optional[Sequence[Optional[int]]],
                    in_channels: int, mode: str,
                    key: str = 'rgb_bands') -> RgbBands:
    """Validate ``rgb_bands`` for ``in_channels`` input bands.

    Args:
        rgb_bands (Sequence[int | None], optional): The 0-based input bands
            of R, G and B, None for a colour the input lacks. None means
            ``(0, 1, 2)``.
        in_channels (int): Number of input bands of the model.
        mode (str): The adaptation mode (``'zero'`` needs one colour).
        key (str): How to call the setting in errors.

    Returns:
        tuple: ``(r, g, b)`` band indices or None.
    """
    if rgb_bands is None:
        if in_channels < 3:
            raise ValueError(
                f'in_channels={in_channels} has no room for the default '
                f'{key}={DEFAULT_RGB_BANDS}; say which band holds which '
                f'colour, e.g. {key}=(0, None, None), or (None, None, '
                "None) with 'mean' for a band that is no colour.")
        return DEFAULT_RGB_BANDS
    bands = tuple(rgb_bands)
    if len(bands) != 3:
        raise ValueError(f'{key} needs three entries, the bands of R, G '
                         f'and B (None where absent), got {rgb_bands!r}.')
    for name, band in zip(RGB_NAMES, bands):
        if band is None:
            continue
        if isinstance(band, bool) or not isinstance(band, int) or \
                not 0 <= band < in_channels:
            raise ValueError(
                f'{key}={rgb_bands!r}: the {name} band {band!r} is not an '
                f'input band; the indices are 0-based, below in_channels='
                f'{in_channels}.')
    present = [band for band in bands if band is not None]
    if len(set(present)) != len(present):
        raise ValueError(f'{key}={rgb_bands!r} puts two colours on the '
                         'same band.')
    if not present and mode == 'zero':
        raise ValueError(
            f"{key}={rgb_bands!r} names no R, G or B band: 'zero' keeps "
            "the RGB filters and would zero every band; use 'mean' (or "
            "'repeat') for inputs without RGB bands.")
    return bands


def adapt_rgb_filters(weight: Tensor, in_channels: int, mode: str,
                      rgb_bands: Optional[Sequence[Optional[int]]] = None
                      ) -> Tensor:
    """Turn RGB filters ``(out, 3, ...)`` into N-band ones.

    Args:
        weight (Tensor): The pretrained filters, input channels R, G, B.
        in_channels (int): N, the number of bands of the new filters.
        mode (str): ``'zero'``, ``'mean'`` or ``'repeat'`` (see the module
            documentation).
        rgb_bands (Sequence[int | None], optional): Where R, G and B are
            among the N bands. Defaults to None: ``(0, 1, 2)``.

    Returns:
        Tensor: ``(out, N, ...)`` filters, dtype and device of ``weight``.
    """
    check_adapt_mode(mode)
    if weight.dim() < 2 or weight.shape[1] != 3:
        raise ValueError('adapt_channels adapts RGB filters (3 input '
                         f'channels); got a weight of shape '
                         f'{tuple(weight.shape)}.')
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) \
            or in_channels < 1:
        raise ValueError(f'in_channels must be a positive int, got '
                         f'{in_channels!r}.')
    bands = parse_rgb_bands(rgb_bands, in_channels, mode)
    colour_of = {band: colour for colour, band in enumerate(bands)
                 if band is not None}
    extra = [band for band in range(in_channels) if band not in colour_of]
    if mode == 'zero':
        filters = [weight[:, colour_of[band]] if band in colour_of else
                   torch.zeros_like(weight[:, 0])
                   for band in range(in_channels)]
        return torch.stack(filters, dim=1)
    mean = weight.mean(dim=1)
    extra_filter = {band: mean if mode == 'mean' else weight[:, i % 3]
                    for i, band in enumerate(extra)}
    filters = [weight[:, colour_of[band]] if band in colour_of else
               extra_filter[band] for band in range(in_channels)]
    return torch.stack(filters, dim=1) * (3 / in_channels)


def describe_adaptation(in_channels: int, mode: str,
                        rgb_bands: Optional[Sequence[Optional[int]]] = None
                        ) -> str:
    """One line saying which band gets which filter, for logs."""
    bands = parse_rgb_bands(rgb_bands, in_channels, mode)
    colours = ', '.join(f'{name} on band {band}' for name, band in
                        zip(RGB_NAMES, bands) if band is not None)
    missing = [name for name, band in zip(RGB_NAMES, bands) if band is None]
    extra = [band for band in range(in_channels) if band not in bands]
    fill = {'zero': 'zero', 'mean': 'the mean RGB filter',
            'repeat': 'the RGB filters in turn'}[mode]
    parts = [colours] if colours else []
    if extra:
        parts.append(f'bands {extra} {fill}')
    if missing:
        parts.append(f'{"/".join(missing)} filter dropped (absent)')
    scale = '' if mode == 'zero' else f', all x 3/{in_channels}'
    return f"stem adapted from 3 to {in_channels} bands ('{mode}'): " + \
        '; '.join(parts) + scale


def adapt_stem_state(state: Dict[str, Tensor], in_channels: int,
                     mode: Optional[str],
                     rgb_bands: Optional[Sequence[Optional[int]]] = None,
                     name: str = 'checkpoint',
                     key: str = STEM_WEIGHT) -> Tuple[Dict[str, Tensor],
                                                      Optional[str]]:
    """Adapt the stem weight ``key`` of a backbone state dict.

    Args:
        state (dict[str, Tensor]): Backbone weights in this project's names.
        in_channels (int): Input bands of the model to load into.
        mode (str, optional): The adaptation mode; None adapts nothing.
        rgb_bands (Sequence[int | None], optional): See
            :func:`adapt_rgb_filters`.
        name (str): How to call the checkpoint in errors.
        key (str): The stem weight's name. Defaults to ``stem.0.weight``.

    Returns:
        tuple: The state dict (the input one if nothing was adapted) and a
        description of the adaptation for the log (None if none).
    """
    if mode is None:
        if rgb_bands is not None:
            raise ValueError(
                'init_cfg.rgb_bands is set without init_cfg.adapt_channels; '
                f'give adapt_channels={ADAPT_MODES} too.')
        return state, None
    mode = check_adapt_mode(mode, 'init_cfg.adapt_channels')
    weight = state.get(key)
    if weight is None:
        raise ValueError(f'{name} has no {key} (the stem convolution) to '
                         'adapt to the input bands.')
    if weight.shape[1] == in_channels and in_channels != 3:
        return state, (f'{key} already has {in_channels} input channels; '
                       'not adapted')
    if weight.shape[1] != 3:
        raise ValueError(
            f'init_cfg.adapt_channels adapts RGB checkpoints, but {key} of '
            f'{name} has {weight.shape[1]} input channels and the model '
            f'in_channels={in_channels}.')
    adapted = adapt_rgb_filters(weight, in_channels, mode, rgb_bands)
    return {**state, key: adapted}, describe_adaptation(
        in_channels, mode, rgb_bands)


def stem_mismatch_hint(state: Dict[str, Tensor], in_channels: int,
                       key: str = STEM_WEIGHT) -> str:
    """A sentence on ``adapt_channels`` if the stem of ``state`` is an RGB
    one and the model takes another number of bands, else ''."""
    weight = state.get(key)
    if weight is None or weight.dim() < 2 or weight.shape[1] != 3 or \
            in_channels == 3:
        return ''
    return (f' The checkpoint is RGB and the model takes {in_channels} '
            "bands: set init_cfg adapt_channels='zero', 'mean' or "
            "'repeat' (and rgb_bands if R, G, B are not bands 0, 1, 2) "
            'to adapt its stem.')
