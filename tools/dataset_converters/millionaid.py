"""Prepare MillionAID for ``configs/cls/lemevit_*_millionaid.py``.

The official release keeps labelled images in a three-level hierarchy,
``<level 1>/<level 2>/<level 3>/<image>.jpg`` (8 / 28 / 51 categories); the
51 leaf folders are the scene classes. This tool flattens one or more such
trees into the layout the configs read::

    OUT/train/<class>/<image>    OUT/val/<class>/<image>   (symlinks/copies)
    OUT/meta/train.txt           OUT/meta/val.txt   "<class>/<image> <label>"
    OUT/meta/classes.txt         the class names, label order (sorted)

The validation images are either listed in ``--val-list`` (paths relative
to a source root, one per line) or drawn per class with ``--val-ratio``
(seeded, reproducible).

Example::

    python tools/dataset_converters/millionaid.py \
        /data/MillionAID/train data/millionaid --val-ratio 0.1
"""
import argparse
import os
import os.path as osp
import random
import shutil
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Set

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.tif', '.tiff', '.bmp')
NUM_CLASSES = 51


def find_leaf_classes(roots: Sequence[str]) -> Dict[str, List[str]]:
    """Map each leaf folder name (class) to the images it holds."""
    images: Dict[str, List[str]] = defaultdict(list)
    origin: Dict[str, str] = {}
    for root in roots:
        if not osp.isdir(root):
            raise FileNotFoundError(f'{root} is not a folder.')
        for folder, _, files in sorted(os.walk(root, followlinks=True)):
            pictures = sorted(f for f in files
                              if f.lower().endswith(IMAGE_EXTENSIONS))
            if not pictures:
                continue
            name = osp.basename(folder)
            if name in origin and origin[name] != folder:
                raise ValueError(
                    f'class {name!r} appears twice: {origin[name]} and '
                    f'{folder}; leaf folder names must be unique.')
            origin[name] = folder
            images[name].extend(osp.join(folder, f) for f in pictures)
    if not images:
        raise ValueError(f'no image ({", ".join(IMAGE_EXTENSIONS)}) found '
                         f'under {list(roots)}.')
    return dict(images)


def read_val_list(path: str, roots: Sequence[str]) -> Set[str]:
    """Absolute paths of the validation images listed in ``path``."""
    chosen = set()
    with open(path) as file:
        for number, line in enumerate(file, 1):
            name = line.split()[0] if line.strip() else ''
            if not name:
                continue
            found = [osp.join(r, name) for r in roots
                     if osp.isfile(osp.join(r, name))]
            if not found:
                raise FileNotFoundError(
                    f'{path}, line {number}: {name} is under none of '
                    f'{list(roots)}.')
            chosen.add(osp.abspath(found[0]))
    return chosen


def split_images(images: Dict[str, List[str]], val_ratio: float,
                 val_list: Optional[Set[str]], seed: int
                 ) -> Dict[str, Dict[str, List[str]]]:
    """``{'train': {class: paths}, 'val': {class: paths}}``."""
    splits = dict(train={}, val={})
    rng = random.Random(seed)
    for name in sorted(images):
        paths = sorted(images[name])
        if val_list is not None:
            val = [p for p in paths if osp.abspath(p) in val_list]
        else:
            count = round(len(paths) * val_ratio)
            val = sorted(rng.sample(paths, count))
        chosen = set(val)
        splits['train'][name] = [p for p in paths if p not in chosen]
        splits['val'][name] = val
    return splits


def write_layout(splits: Dict[str, Dict[str, List[str]]], out: str,
                 copy: bool = False) -> List[str]:
    """Write the folders and lists under ``out``; return the classes."""
    classes = sorted(splits['train'])
    os.makedirs(osp.join(out, 'meta'), exist_ok=True)
    for split, per_class in splits.items():
        lines = []
        for label, name in enumerate(classes):
            folder = osp.join(out, split, name)
            os.makedirs(folder, exist_ok=True)
            for path in per_class[name]:
                target = osp.join(folder, osp.basename(path))
                if not osp.lexists(target):
                    if copy:
                        shutil.copy2(path, target)
                    else:
                        os.symlink(osp.abspath(path), target)
                lines.append(f'{name}/{osp.basename(path)} {label}\n')
        with open(osp.join(out, 'meta', f'{split}.txt'), 'w') as file:
            file.writelines(lines)
    with open(osp.join(out, 'meta', 'classes.txt'), 'w') as file:
        file.writelines(f'{name}\n' for name in classes)
    return classes


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('sources', nargs='+',
                        help='labelled MillionAID trees (e.g. train/)')
    parser.add_argument('out', help='output data_root')
    parser.add_argument('--val-ratio', type=float, default=0.1,
                        help='share of each class held out for validation')
    parser.add_argument('--val-list',
                        help='file listing the validation images instead')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--copy', action='store_true',
                        help='copy images instead of symlinking them')
    parser.add_argument('--num-classes', type=int, default=NUM_CLASSES,
                        help='expected number of classes (0: any)')
    args = parser.parse_args(argv)
    if not 0 <= args.val_ratio < 1:
        sys.exit(f'error: --val-ratio must be in [0, 1), got '
                 f'{args.val_ratio}.')
    try:
        images = find_leaf_classes(args.sources)
        if args.num_classes and len(images) != args.num_classes:
            raise ValueError(
                f'found {len(images)} classes under {args.sources}, '
                f'expected {args.num_classes} (--num-classes 0 accepts '
                'any number).')
        val_list = read_val_list(args.val_list, args.sources) \
            if args.val_list else None
        splits = split_images(images, args.val_ratio, val_list, args.seed)
        classes = write_layout(splits, args.out, args.copy)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    counts = {s: sum(map(len, c.values())) for s, c in splits.items()}
    print(f'{len(classes)} classes, {counts["train"]} train and '
          f'{counts["val"]} val images -> {args.out}')


if __name__ == '__main__':
    main()
