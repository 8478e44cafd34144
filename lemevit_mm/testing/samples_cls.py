"""Small generated samples of the scene-classification benchmarks in the
layout of their downloads:

- UC Merced: ``UCMerced_LandUse.zip`` holding
  ``UCMerced_LandUse/Images/<class>/<class>NN.tif``;
- AID: ``AID/<Class>/<class>_N.jpg``;
- NWPU-RESISC45: ``NWPU-RESISC45/<class>/<class>_NNN.jpg``.

Each class gets its own colour and stripe direction, so that a model can
tell them apart.
"""
import math
import os
import os.path as osp
import shutil
import zipfile
from typing import Dict, List

import cv2
import numpy as np

from ..cls.scene_datasets import BENCHMARKS


def scene_image(label: int, size: int,
                rng: np.random.Generator) -> np.ndarray:
    """A ``size`` x ``size`` BGR image of class ``label``."""
    hue = (label * 37) % 180
    colour = cv2.cvtColor(np.uint8([[[hue, 180, 200]]]),
                          cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)
    yy, xx = np.mgrid[:size, :size]
    angle = label * 0.7
    stripes = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) / 3)
    image = colour * (0.75 + 0.25 * stripes[..., None])
    image += rng.normal(0, 8, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _file_name(dataset: str, name: str, index: int) -> str:
    if dataset == 'ucmerced':
        return f'{name}{index:02d}.tif'
    if dataset == 'aid':
        return f'{name.lower()}_{index + 1}.jpg'
    return f'{name}_{index + 1:03d}.jpg'


def make_scene_sample(root: str, dataset: str, images_per_class: int = 5,
                      size: int = 32, seed: int = 0,
                      zipped: bool = None) -> Dict[str, List[str]]:
    """Write a sample of ``dataset`` (``'ucmerced'``, ``'aid'`` or
    ``'nwpu-resisc45'``) under ``root``; UC Merced is zipped by default,
    as it is distributed.

    Returns:
        dict: ``{class: [file names]}``.
    """
    benchmark = BENCHMARKS[dataset]
    rng = np.random.default_rng(seed)
    top = dict(ucmerced='UCMerced_LandUse', aid='AID')
    top = top.get(dataset, 'NWPU-RESISC45')
    base = osp.join(root, top, 'Images') if dataset == 'ucmerced' else \
        osp.join(root, top)
    written: Dict[str, List[str]] = {}
    for label, name in enumerate(benchmark.classes):
        folder = osp.join(base, name)
        os.makedirs(folder, exist_ok=True)
        written[name] = []
        for index in range(images_per_class):
            file_name = _file_name(dataset, name, index)
            if not cv2.imwrite(osp.join(folder, file_name),
                               scene_image(label, size, rng)):
                raise OSError(f'could not write {file_name}')
            written[name].append(file_name)
    if zipped if zipped is not None else dataset == 'ucmerced':
        with zipfile.ZipFile(osp.join(root, f'{top}.zip'), 'w') as out:
            for folder, _, files in sorted(os.walk(osp.join(root, top))):
                for file_name in sorted(files):
                    path = osp.join(folder, file_name)
                    out.write(path, osp.relpath(path, root))
        shutil.rmtree(osp.join(root, top))
    return written
