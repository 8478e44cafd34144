"""Small generated samples of LoveDA and iSAID in the layout of their
downloads:

- LoveDA: ``Train.zip``, ``Val.zip``, ``Test.zip`` holding
  ``<Split>/{Urban,Rural}/images_png/<id>.png`` and (not for Test)
  ``masks_png/<id>.png`` with ids 0 (no data) and 1-7;
- iSAID: ``{train,val}/images/part1.zip`` (``images/P0000.png``),
  ``{train,val}/Semantic_masks/images.zip``
  (``images/P0000_instance_color_RGB.png``, RGB colours of the palette)
  and ``test/images/part1.zip``.

Each class is painted as rectangles of its own colour, so that labels
and images agree.
"""
import os
import os.path as osp
import shutil
import zipfile
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

from ..seg.benchmark_conversion import ISAID_PALETTE


def label_map(rng: np.random.Generator, height: int, width: int,
              num_ids: int, first_id: int = 0,
              blocks: int = 6) -> np.ndarray:
    """Rectangles of random ids in ``first_id`` .. ``num_ids - 1``."""
    label = np.full((height, width), first_id, np.uint8)
    for _ in range(blocks):
        y0, x0 = rng.integers(0, height - 4), rng.integers(0, width - 4)
        y1 = min(height, y0 + int(rng.integers(4, height // 2 + 5)))
        x1 = min(width, x0 + int(rng.integers(4, width // 2 + 5)))
        label[y0:y1, x0:x1] = rng.integers(first_id, num_ids)
    return label


def paint(label: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An RGB image whose colour follows the label."""
    colours = np.stack([(np.arange(256) * 53) % 256,
                        (np.arange(256) * 97) % 256,
                        (np.arange(256) * 151) % 256], 1)
    image = colours[label].astype(np.float32)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _zip_and_remove(folder: str, archive: str, base: str) -> None:
    with zipfile.ZipFile(archive, 'w') as out:
        for parent, _, files in sorted(os.walk(folder)):
            for name in sorted(files):
                path = osp.join(parent, name)
                out.write(path, osp.relpath(path, base))
    shutil.rmtree(folder)


def make_loveda_sample(root: str, per_domain: int = 1, size: int = 64,
                       seed: int = 0) -> Dict[str, Dict[str, List[str]]]:
    """Write ``Train.zip``, ``Val.zip`` and ``Test.zip`` under ``root``.

    Returns:
        dict: ``{split: {domain: [ids]}}`` (split 'Train', 'Val', 'Test').
    """
    rng = np.random.default_rng(seed)
    ids: Dict[str, Dict[str, List[str]]] = {}
    index = 0
    for split in ('Train', 'Val', 'Test'):
        ids[split] = {}
        for domain in ('Urban', 'Rural'):
            ids[split][domain] = []
            for _ in range(per_domain):
                img_id = str(index)
                index += 1
                label = label_map(rng, size, size, 8, first_id=1)
                label[:2, :] = 0  # a no-data strip
                base = osp.join(root, split, domain)
                os.makedirs(osp.join(base, 'images_png'), exist_ok=True)
                Image.fromarray(paint(label, rng)).save(
                    osp.join(base, 'images_png', f'{img_id}.png'))
                if split != 'Test':
                    os.makedirs(osp.join(base, 'masks_png'), exist_ok=True)
                    Image.fromarray(label).save(
                        osp.join(base, 'masks_png', f'{img_id}.png'))
                ids[split][domain].append(img_id)
        _zip_and_remove(osp.join(root, split),
                        osp.join(root, f'{split}.zip'), root)
    return ids


def make_isaid_sample(root: str, image_sizes: Dict[str, List[Tuple[int,
                                                                   int]]],
                      seed: int = 0) -> Dict[str, Dict[str, np.ndarray]]:
    """Write the iSAID archives under ``root``: one image per size in
    ``image_sizes[split]`` (``(height, width)``).

    Returns:
        dict: ``{split: {id: class-id map}}`` (no maps for test).
    """
    rng = np.random.default_rng(seed)
    palette = np.array(ISAID_PALETTE, np.uint8)
    drawn: Dict[str, Dict[str, np.ndarray]] = {}
    index = 0
    for split, sizes in image_sizes.items():
        drawn[split] = {}
        image_dir = osp.join(root, split, 'images', 'part1', 'images')
        mask_dir = osp.join(root, split, 'Semantic_masks', 'images',
                            'images')
        os.makedirs(image_dir, exist_ok=True)
        for height, width in sizes:
            img_id = f'P{index:04d}'
            index += 1
            label = label_map(rng, height, width, len(ISAID_PALETTE))
            Image.fromarray(paint(label, rng)).save(
                osp.join(image_dir, f'{img_id}.png'))
            if split != 'test':
                os.makedirs(mask_dir, exist_ok=True)
                Image.fromarray(palette[label]).save(
                    osp.join(mask_dir, f'{img_id}_instance_color_RGB.png'))
                drawn[split][img_id] = label
        _zip_and_remove(osp.dirname(image_dir),
                        osp.join(root, split, 'images', 'part1.zip'),
                        osp.dirname(image_dir))
        if split != 'test':
            _zip_and_remove(osp.dirname(mask_dir),
                            osp.join(root, split, 'Semantic_masks',
                                     'images.zip'),
                            osp.dirname(mask_dir))
    return drawn
