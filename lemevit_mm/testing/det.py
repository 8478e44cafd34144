"""A small synthetic dataset in the on-disk format of DOTA-v1.0.

The layout is that of the DOTA download, ready for the split tool::

    ROOT/train/images/P0000.png   ROOT/train/labelTxt/P0000.txt
    ROOT/val/images/P0004.png     ROOT/val/labelTxt/P0004.txt
    ROOT/test/images/P0006.png    (no labels, as in DOTA)

Each label file starts with the ``imagesource:`` and ``gsd:`` headers of
DOTA, then one line per object: 4 corners clockwise, the class name and
the difficulty flag. Objects are rotated rectangles at random angles on a
textured background: vehicles with a dark windshield band at the front,
tennis courts with white lines, swimming pools; faint ones are marked
difficult. They do not overlap and lie fully inside the image.
"""
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..det.dota_annotations import DOTAObject, format_object_line

# class name -> (length range, width range) in pixels, and BGR colour.
OBJECT_STYLES = {
    'small-vehicle': ((12, 18), (6, 9), (40, 40, 200)),
    'large-vehicle': ((26, 36), (9, 12), (200, 200, 220)),
    'tennis-court': ((36, 48), (18, 24), (60, 150, 60)),
    'swimming-pool': ((20, 34), (12, 20), (220, 160, 40)),
}


def rotated_rectangle(center: Tuple[float, float], length: float,
                      width: float, angle: float) -> np.ndarray:
    """The 4 corners (4 x 2, clockwise in image coordinates) of a
    rectangle of side ``length`` along ``angle`` (radians)."""
    cos, sin = math.cos(angle), math.sin(angle)
    half = np.array([[-length, -width], [length, -width], [length, width],
                     [-length, width]]) / 2
    rotation = np.array([[cos, -sin], [sin, cos]])
    return half @ rotation.T + np.asarray(center)


def _background(rng: np.random.Generator, height: int,
                width: int) -> np.ndarray:
    base = rng.uniform(90, 150, size=3)
    image = np.empty((height, width, 3), np.float32)
    image[...] = base
    coarse = rng.normal(0, 12, size=(height // 16 + 1, width // 16 + 1, 3))
    image += cv2.resize(coarse.astype(np.float32), (width, height),
                        interpolation=cv2.INTER_CUBIC)
    image += rng.normal(0, 6, size=image.shape)
    for _ in range(rng.integers(1, 3)):  # a road or two
        p1 = (int(rng.integers(0, width)), 0)
        p2 = (int(rng.integers(0, width)), height - 1)
        cv2.line(image, p1, p2, (70, 70, 70), int(rng.integers(4, 9)))
    return image


def _draw_object(image: np.ndarray, class_name: str, corners: np.ndarray,
                 colour: np.ndarray) -> None:
    cv2.fillPoly(image, [np.round(corners).astype(np.int32)],
                 colour.tolist(), lineType=cv2.LINE_AA)
    front, back = corners[[1, 2]], corners[[0, 3]]
    if class_name.endswith('vehicle'):  # windshield: shows the heading
        inner = back + (front - back) * 0.7
        band = np.concatenate([inner, front[::-1] * 0.15 +
                               inner[::-1] * 0.85])
        cv2.fillPoly(image, [np.round(band).astype(np.int32)],
                     (colour * 0.3).tolist(), lineType=cv2.LINE_AA)
    elif class_name == 'tennis-court':  # net line and outline
        middle = (front + back) / 2
        cv2.line(image, tuple(np.round(middle[0]).astype(int).tolist()),
                 tuple(np.round(middle[1]).astype(int).tolist()),
                 (255, 255, 255), 1, cv2.LINE_AA)
        cv2.polylines(image, [np.round(corners).astype(np.int32)], True,
                      (255, 255, 255), 1, cv2.LINE_AA)


def synthetic_image(rng: np.random.Generator, height: int, width: int,
                    num_objects: int,
                    classes: Sequence[str] = tuple(OBJECT_STYLES),
                    difficult_prob: float = 0.15
                    ) -> Tuple[np.ndarray, List[DOTAObject]]:
    """Draw one image and return it (BGR uint8) with its objects."""
    image = _background(rng, height, width)
    objects: List[DOTAObject] = []
    placed: List[Tuple[np.ndarray, float]] = []
    attempts = 0
    while len(objects) < num_objects and attempts < 50 * num_objects:
        attempts += 1
        class_name = str(rng.choice(list(classes)))
        (l_lo, l_hi), (w_lo, w_hi), colour = OBJECT_STYLES[class_name]
        length, width_ = rng.uniform(l_lo, l_hi), rng.uniform(w_lo, w_hi)
        radius = math.hypot(length, width_) / 2
        if 2 * radius + 2 >= min(height, width):
            continue
        center = rng.uniform([radius + 1, radius + 1],
                             [width - radius - 1, height - radius - 1])
        if any(np.linalg.norm(center - c) < radius + r + 2
               for c, r in placed):
            continue
        corners = rotated_rectangle(center, length, width_,
                                    rng.uniform(-math.pi, math.pi))
        difficult = rng.random() < difficult_prob
        shade = np.asarray(colour, np.float32) * rng.uniform(0.85, 1.15)
        if difficult:  # faint: halfway to the background
            inside = image[int(center[1]), int(center[0])]
            shade = (shade + 2 * inside) / 3
        _draw_object(image, class_name, corners, shade)
        placed.append((center, radius))
        objects.append(DOTAObject(
            [round(float(v), 1) for v in corners.reshape(-1)], class_name,
            int(difficult)))
    return np.clip(image, 0, 255).astype(np.uint8), objects


def make_synthetic_dota(root: str,
                        num_images: Optional[Dict[str, int]] = None,
                        image_size: Tuple[int, int] = (256, 320),
                        objects_per_image: Tuple[int, int] = (4, 8),
                        gsd: float = 0.5,
                        seed: int = 0) -> Dict[str, List[str]]:
    """Write a synthetic DOTA-v1.0-format dataset under ``root``.

    Args:
        root (str): Output folder (created; existing files are kept).
        num_images (dict, optional): Images per split; the ``test`` split
            gets no labels. Defaults to ``dict(train=4, val=2, test=2)``.
        image_size (tuple[int, int]): Height and width. Defaults to
            (256, 320).
        objects_per_image (tuple[int, int]): Inclusive range of the number
            of objects. Defaults to (4, 8).
        gsd (float): Ground sample distance written to the headers.
            Defaults to 0.5.
        seed (int): Random seed. Defaults to 0.

    Returns:
        dict: The image ids of each split.
    """
    num_images = num_images or dict(train=4, val=2, test=2)
    rng = np.random.default_rng(seed)
    height, width = image_size
    ids: Dict[str, List[str]] = {}
    index = 0
    for split, count in num_images.items():
        img_dir = osp.join(root, split, 'images')
        os.makedirs(img_dir, exist_ok=True)
        ids[split] = []
        for _ in range(count):
            img_id = f'P{index:04d}'
            index += 1
            image, objects = synthetic_image(
                rng, height, width,
                int(rng.integers(objects_per_image[0],
                                 objects_per_image[1] + 1)))
            cv2.imwrite(osp.join(img_dir, img_id + '.png'), image)
            ids[split].append(img_id)
            if split == 'test':
                continue
            label_dir = osp.join(root, split, 'labelTxt')
            os.makedirs(label_dir, exist_ok=True)
            lines = ['imagesource:synthetic', f'gsd:{gsd}']
            lines += [format_object_line(obj) for obj in objects]
            with open(osp.join(label_dir, img_id + '.txt'), 'w') as f:
                f.write('\n'.join(lines) + '\n')
    return ids
