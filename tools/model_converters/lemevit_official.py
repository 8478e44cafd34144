"""Convert an authors' LeMeViT checkpoint to an MMEngine checkpoint.

The result holds ``{'state_dict': ..., 'meta': ...}`` with the names of
this project's classifier (``backbone.*``, ``neck.norm_x.*``,
``neck.norm_meta.*``, ``head.fc.*``), so it works as ``load_from`` of
``configs/cls/*``, with ``tools/test.py CONFIG DST``, and as a backbone
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``
in the other tasks. The EMA copy of the weights is preferred when the file
has one.

Example::

    python tools/model_converters/lemevit_official.py \
        lemevit_tiny.pth checkpoints/lemevit_t_in1k.pth
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Tuple

import torch
from torch import Tensor

from lemevit_mm.cls.official import (CONVERTER,
                                     convert_official_classifier,
                                     infer_arch, looks_official)
from lemevit_mm.models.backbones.lemevit import LeMeViT
from lemevit_mm.engine import write_atomically
from lemevit_mm.utils.checkpoint import (load_weights, select_state_dict,
                                         state_dict_key)


class NotOfficialError(ValueError):
    """The input is not an authors' LeMeViT checkpoint."""


def official_state_dict(path: str) -> Tuple[Dict[str, Tensor], str]:
    """The authors' weights in ``path`` and where they were found."""
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


def check_complete(converted: Dict[str, Tensor], arch: object,
                   path: str) -> List[str]:
    """Compare the converted backbone with a freshly built LeMeViT; return
    the names of classifier-head weights found."""
    backbone = LeMeViT(arch=arch).state_dict()
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


def convert(src: str, dst: str) -> dict:
    """Convert ``src`` to ``dst``; return the ``meta`` written."""
    state, source = official_state_dict(src)
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Convert an authors\' LeMeViT checkpoint to MMEngine.')
    parser.add_argument('src', help='authors\' checkpoint (.pth)')
    parser.add_argument('dst', help='MMEngine checkpoint to write')
    args = parser.parse_args()
    try:
        meta = convert(args.src, args.dst)
    except (NotOfficialError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    print(f'{args.src} ({meta["source_weights"]}, arch {meta["arch"]}, '
          f'{meta["num_classes"]} classes) -> {args.dst}')


if __name__ == '__main__':
    main()
