"""A tiny ImageNet-style dataset for tests and smoke runs.

Real image files in the on-disk layout that mmpretrain's ``ImageNet`` and
``CustomDataset`` read::

    ROOT/train/<class>/<class>_<i>.JPEG     folder per class
    ROOT/val/<class>/<class>_<i>.JPEG
    ROOT/meta/train.txt, ROOT/meta/val.txt  "<class>/<file> <label>"
    ROOT/meta/classes.txt                   one class name per line

Each class has its own colour and stripe direction plus noise, so a few
iterations of training already separate them.

Command line::

    python -m lemevit_mm.testing.cls ROOT [--classes 4] [--size 64]
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np
from PIL import Image

SPLITS = ('train', 'val')


def class_image(label: int, size: int, rng: np.random.Generator
                ) -> np.ndarray:
    """An ``size x size x 3`` uint8 RGB image typical of class ``label``."""
    hue = np.array([(label * 97) % 256, (label * 53 + 80) % 256,
                    (label * 151 + 160) % 256], dtype=np.float32)
    grid = np.arange(size, dtype=np.float32)
    period = 4 + 2 * (label % 4)
    stripes = (grid // period) % 2
    pattern = stripes[None, :] if label % 2 else stripes[:, None]
    image = hue * (0.6 + 0.4 * pattern[..., None])
    image = image + rng.normal(0, 12, (size, size, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def make_tiny_imagenet(root: str,
                       num_classes: int = 4,
                       per_class: Dict[str, int] = None,
                       size: int = 64,
                       extension: str = '.JPEG',
                       seed: int = 0) -> List[str]:
    """Write the tiny dataset under ``root``.

    Args:
        root (str): Output folder (created).
        num_classes (int): Number of classes. Defaults to 4.
        per_class (dict[str, int], optional): Images per class for each
            split. Defaults to ``{'train': 6, 'val': 2}``.
        size (int): Side of the square images. Defaults to 64.
        extension (str): ``'.JPEG'``, ``'.jpg'`` or ``'.png'``.
            Defaults to '.JPEG'.
        seed (int): Seed of the noise. Defaults to 0.

    Returns:
        list[str]: The class names, in label order.
    """
    per_class = per_class or dict(train=6, val=2)
    rng = np.random.default_rng(seed)
    classes = [f'n{label:08d}' for label in range(num_classes)]
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    for split, count in per_class.items():
        lines = []
        for label, name in enumerate(classes):
            folder = osp.join(root, split, name)
            os.makedirs(folder, exist_ok=True)
            for index in range(count):
                filename = f'{name}_{index}{extension}'
                Image.fromarray(class_image(label, size, rng)).save(
                    osp.join(folder, filename))
                lines.append(f'{name}/{filename} {label}\n')
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as file:
            file.writelines(lines)
    with open(osp.join(root, 'meta', 'classes.txt'), 'w') as file:
        file.writelines(f'{name}\n' for name in classes)
    return classes


def main(argv: Sequence[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='output folder')
    parser.add_argument('--classes', type=int, default=4)
    parser.add_argument('--train', type=int, default=6,
                        help='training images per class')
    parser.add_argument('--val', type=int, default=2,
                        help='validation images per class')
    parser.add_argument('--size', type=int, default=64)
    args = parser.parse_args(argv)
    make_tiny_imagenet(args.root, args.classes,
                       dict(train=args.train, val=args.val), args.size)


if __name__ == '__main__':
    main()
