"""Small generated samples of WHU-CD (BIT's 256x256 tiles with split
lists), S2Looking and LEVIR-CD+ in the layouts of their downloads, from
the synthetic pairs of :mod:`.cd`."""
import os
import os.path as osp
from typing import Dict, List

import numpy as np
from PIL import Image

from ..cd.benchmark_conversion import LAYOUTS
from .cd import make_pair


def _write_pair(folders: List[str], stem: str, size: int,
                rng: np.random.Generator) -> None:
    for folder, array in zip(folders, make_pair(size, rng)):
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(array).save(osp.join(folder, f'{stem}.png'))


def make_cd_sample(root: str, dataset: str, counts: Dict[str, int],
                   size: int = 64, seed: int = 0) -> Dict[str, List[str]]:
    """Write a download of ``dataset`` (``'whu-cd'``, ``'s2looking'`` or
    ``'levir-cd-plus'``) under ``root``, ``counts[split]`` pairs per
    split (for WHU-CD the splits are the lists over one tile folder).

    Returns:
        dict: ``{split: [file stems]}``.
    """
    layout = LAYOUTS[dataset]
    rng = np.random.default_rng(seed)
    written: Dict[str, List[str]] = {}
    index = 0
    for split, count in counts.items():
        written[split] = []
        base = root if dataset == 'whu-cd' else osp.join(root, split)
        folders = [osp.join(base, name) for name in
                   (layout.date_a, layout.date_b, layout.label)]
        for _ in range(count):
            stem = f'whucd_{index:05d}' if dataset == 'whu-cd' else \
                f'{split}_{index}'
            index += 1
            _write_pair(folders, stem, size, rng)
            written[split].append(stem)
        if dataset == 'whu-cd':
            os.makedirs(osp.join(root, 'list'), exist_ok=True)
            with open(osp.join(root, 'list', f'{split}.txt'), 'w') as file:
                file.write(''.join(f'{stem}.png\n'
                                   for stem in written[split]))
    return written
