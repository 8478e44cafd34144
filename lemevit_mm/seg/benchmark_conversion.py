"""Preparing LoveDA and iSAID from their official downloads, in mmseg's
layout (member names matched robustly; invalid label maps listed as
``file: reason`` and left out).

LoveDA (``Train.zip``, ``Val.zip``, ``Test.zip``, each holding
``<Split>/{Urban,Rural}/images_png/*.png`` and, but for the test split,
``masks_png/*.png``)::

    OUT/img_dir/{train,val,test}/<id>.png   OUT/ann_dir/{train,val}/<id>.png
    OUT/meta/<split>_{urban,rural}.txt      ids of each domain

iSAID (``{train,val}/images/part*.zip`` of DOTA images,
``{train,val}/Semantic_masks/images.zip`` of colour masks
``P0000_instance_color_RGB.png``, ``test/images/part*.zip``): as mmseg's
converter, every train/val image and mask is cut into 896x896 patches
with an overlap of 384 (stride 512; the last row and column are shifted
back inside the image; images smaller than a patch are padded, with 0
and the ignore label 255), the colours become class ids 0-15; test
images are copied whole::

    OUT/img_dir/<split>/P0000_<y0>_<y1>_<x0>_<x1>.png
    OUT/ann_dir/<split>/P0000_<y0>_<y1>_<x0>_<x1>_instance_color_RGB.png
"""
import os
import os.path as osp
import re
from collections import defaultdict
from typing import Dict, List, NamedTuple, Tuple

import numpy as np
from PIL import Image

from ..datasets.source_layout import (extract_archives, files_by_stem,
                                      find_folder, normalise, place_file,
                                      write_lines)

LOVEDA_SPLITS = dict(train='Train', val='Val', test='Test')
LOVEDA_DOMAINS = ('Urban', 'Rural')
LOVEDA_MAX_ID = 7  # 0 no data, 1-7 the classes

# iSAID mask colours (RGB) of the 16 classes, in mmseg's label order.
ISAID_PALETTE = (
    (0, 0, 0), (0, 0, 63), (0, 63, 63), (0, 63, 0), (0, 63, 127),
    (0, 63, 191), (0, 63, 255), (0, 127, 63), (0, 127, 127), (0, 0, 127),
    (0, 0, 191), (0, 0, 255), (0, 191, 127), (0, 127, 191), (0, 127, 255),
    (0, 100, 155))
ISAID_IGNORE = 255
ISAID_IMAGE = re.compile(r'^(P\d+)$')
ISAID_MASK = re.compile(r'^(P\d+)_instance_color_RGB$')

Image.MAX_IMAGE_PIXELS = None  # iSAID images reach 20000 x 20000


class SegConversionReport(NamedTuple):
    """Images written per split, and the files left out with why."""
    images: Dict[str, int]
    problems: List[str]


def _check_loveda_mask(mask_path: str, image_path: str) -> str:
    """Why a LoveDA mask is invalid, or ''."""
    with Image.open(mask_path) as mask, Image.open(image_path) as image:
        if mask.mode not in ('L', 'P', 'I;16', 'I'):
            return (f'expected a single-channel label map of ids 0-7, got '
                    f'mode {mask.mode}')
        if mask.size != image.size:
            return (f'label map is {mask.size[0]}x{mask.size[1]}, its image '
                    f'{image.size[0]}x{image.size[1]}')
        values = np.unique(np.asarray(mask))
    bad = values[values > LOVEDA_MAX_ID]
    if bad.size:
        return (f'label ids {bad.tolist()[:8]} outside 0-7 (0 no data, 1 '
                'background ... 7 agricultural)')
    return ''


def convert_loveda(source: str, out: str,
                   copy: bool = False) -> SegConversionReport:
    """Lay out a LoveDA download under ``out`` in mmseg's layout, with the
    per-domain id lists. A mask that is not a single-channel map of ids
    0-7 as large as its image is listed and its image left out."""
    roots = extract_archives(source, osp.join(out, '.extracted'))
    problems: List[str] = []
    counts: Dict[str, int] = {}
    seen: Dict[str, str] = {}
    for split, folder_name in LOVEDA_SPLITS.items():
        labelled = split != 'test'
        ids_of_split = []
        for domain in LOVEDA_DOMAINS:
            def inside(folder, domain=domain, folder_name=folder_name):
                parent = osp.dirname(folder)
                return (normalise(osp.basename(parent)) == normalise(domain)
                        and normalise(osp.basename(osp.dirname(parent)))
                        == normalise(folder_name))

            what = f'LoveDA {folder_name}/{domain}'
            images = files_by_stem(find_folder(
                roots, ['images_png'], f'{what} images', ('.png', ),
                accept=inside), ('.png', ))
            masks = files_by_stem(find_folder(
                roots, ['masks_png'], f'{what} label maps', ('.png', ),
                accept=inside), ('.png', )) if labelled else {}
            kept = []
            for img_id, image in images.items():
                if img_id in seen:
                    raise ValueError(f'image id {img_id} appears twice: '
                                     f'{seen[img_id]} and {image}.')
                seen[img_id] = image
                if labelled:
                    mask = masks.get(img_id)
                    reason = 'no label map in masks_png' if mask is None \
                        else _check_loveda_mask(mask, image)
                    if reason:
                        problems.append(f'{mask or image}: {reason}')
                        continue
                    place_file(mask, osp.join(out, 'ann_dir', split,
                                              f'{img_id}.png'), copy)
                place_file(image, osp.join(out, 'img_dir', split,
                                           f'{img_id}.png'), copy)
                kept.append(img_id)
            write_lines(osp.join(out, 'meta',
                                 f'{split}_{domain.lower()}.txt'), kept)
            ids_of_split += kept
        if not ids_of_split:
            raise ValueError(f'LoveDA {folder_name}: no valid image left.')
        counts[split] = len(ids_of_split)
    return SegConversionReport(counts, problems)


def colour_mask_to_ids(mask: np.ndarray) -> Tuple[np.ndarray, int]:
    """iSAID colour mask (H, W, 3, RGB) -> class ids; pixels of another
    colour become 255 (ignored). Returns the ids and their count."""
    codes = (mask[..., 0].astype(np.int64) << 16) | \
        (mask[..., 1].astype(np.int64) << 8) | mask[..., 2]
    ids = np.full(mask.shape[:2], ISAID_IGNORE, np.uint8)
    for label, (r, g, b) in enumerate(ISAID_PALETTE):
        ids[codes == (r << 16 | g << 8 | b)] = label
    return ids, int((ids == ISAID_IGNORE).sum())


def patch_windows(height: int, width: int, size: int,
                  overlap: int) -> List[Tuple[int, int, int, int]]:
    """``(y0, y1, x0, x1)`` of the patches of an image at least ``size``
    large on both axes: a stride of ``size - overlap``, the last patch of
    each row and column moved back inside the image (mmseg's iSAID
    scheme)."""
    stride = size - overlap
    if stride <= 0:
        raise ValueError(f'overlap {overlap} must be below size {size}')
    windows = []
    for x in range(0, width, stride):
        x0 = min(x, width - size)
        for y in range(0, height, stride):
            y0 = min(y, height - size)
            if (y0, y0 + size, x0, x0 + size) not in windows:
                windows.append((y0, y0 + size, x0, x0 + size))
    return windows


def _pad(array: np.ndarray, size: int, value: int) -> np.ndarray:
    height, width = array.shape[:2]
    if height >= size and width >= size:
        return array
    shape = (max(height, size), max(width, size)) + array.shape[2:]
    padded = np.full(shape, value, array.dtype)
    padded[:height, :width] = array
    return padded


def _isaid_files(roots: List[str], bases: List[str]
                 ) -> Dict[str, Dict[str, Dict[str, str]]]:
    """``{split: {'images'|'masks': {id: path}}}`` found under roots; the
    split is the first part, below the source or staging folder
    (``bases``), named train, val (validation) or test."""
    found: Dict[str, Dict[str, Dict[str, str]]] = defaultdict(
        lambda: dict(images={}, masks={}))
    for root in roots:
        for folder, dirs, files in os.walk(root, followlinks=True):
            dirs.sort()
            base = next(b for b in bases
                        if osp.abspath(folder).startswith(osp.abspath(b)))
            parts = [normalise(p) for p in
                     osp.relpath(folder, base).split(os.sep)]
            split = next((p for p in parts if p in
                          ('train', 'val', 'validation', 'test')), None)
            if split is None:
                continue
            split = 'val' if split == 'validation' else split
            for name in sorted(files):
                stem, ext = osp.splitext(name)
                if ext.lower() != '.png':
                    continue
                if ISAID_IMAGE.match(stem):
                    found[split]['images'][stem] = osp.join(folder, name)
                elif ISAID_MASK.match(stem):
                    found[split]['masks'][ISAID_MASK.match(stem).group(1)] = \
                        osp.join(folder, name)
    return found


def convert_isaid(source: str, out: str, patch_size: int = 896,
                  overlap: int = 384) -> SegConversionReport:
    """Cut an iSAID download into mmseg's patches under ``out``."""
    staging = osp.join(out, '.extracted')
    roots = extract_archives(source, staging)
    bases = [staging, source if osp.isdir(source) else osp.dirname(source)]
    files = _isaid_files(roots, bases)
    problems: List[str] = []
    counts: Dict[str, int] = {}
    for split in ('train', 'val', 'test'):
        images = files[split]['images'] if split in files else {}
        if not images:
            raise FileNotFoundError(
                f'iSAID {split} images not found: expected P<number>.png '
                f'files under a folder named {split!r} (e.g. '
                f'{split}/images/part1.zip) in {source}.')
        masks = files[split]['masks']
        if split != 'test' and not masks:
            raise FileNotFoundError(
                f'iSAID {split} semantic masks not found: expected '
                f'P<number>_instance_color_RGB.png files under {split!r} '
                f'(e.g. {split}/Semantic_masks/images.zip) in {source}.')
        img_out = osp.join(out, 'img_dir', split)
        ann_out = osp.join(out, 'ann_dir', split)
        os.makedirs(img_out, exist_ok=True)
        count = 0
        for img_id, image_path in sorted(images.items()):
            if split == 'test':
                place_file(image_path, osp.join(img_out, f'{img_id}.png'),
                           copy=True)
                count += 1
                continue
            mask_path = masks.get(img_id)
            if mask_path is None:
                problems.append(f'{image_path}: no semantic mask '
                                f'{img_id}_instance_color_RGB.png')
                continue
            with Image.open(image_path) as image:
                image = np.asarray(image.convert('RGB'))
            with Image.open(mask_path) as mask:
                mask = np.asarray(mask.convert('RGB'))
            if mask.shape != image.shape:
                problems.append(
                    f'{mask_path}: mask is {mask.shape[1]}x{mask.shape[0]},'
                    f' its image {image.shape[1]}x{image.shape[0]}')
                continue
            ids, unknown = colour_mask_to_ids(mask)
            if unknown:
                problems.append(
                    f'{mask_path}: {unknown} pixel(s) of colours outside '
                    'the iSAID palette set to 255 (ignored)')
            image = _pad(image, patch_size, 0)
            ids = _pad(ids, patch_size, ISAID_IGNORE)
            os.makedirs(ann_out, exist_ok=True)
            for y0, y1, x0, x1 in patch_windows(*ids.shape, patch_size,
                                                overlap):
                name = f'{img_id}_{y0}_{y1}_{x0}_{x1}'
                Image.fromarray(image[y0:y1, x0:x1]).save(
                    osp.join(img_out, f'{name}.png'))
                Image.fromarray(ids[y0:y1, x0:x1]).save(
                    osp.join(ann_out, f'{name}_instance_color_RGB.png'))
                count += 1
        counts[split] = count
    return SegConversionReport(counts, problems)
