"""A small synthetic change-detection dataset in the CDD (or LEVIR-CD)
layout, for tests and smoke runs.

Each sample is a pair of scenes (fields, roads, buildings, trees). Between
the dates some buildings or trees appear, vanish or are rebuilt (labelled
as change), while the season (colour of the vegetation, lighting, snow)
and the sensor noise change everywhere (not labelled as change), as in
CDD.

Usage::

    python -m lemevit_mm.testing.cd data/cdd_synthetic --train 16
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

from .rasters import write_tiff

# Vegetation colours (RGB) of fields and trees per season.
SEASONS: Dict[str, Tuple[Tuple[int, int, int], Tuple[int, int, int]]] = {
    'summer': ((96, 150, 60), (40, 95, 35)),
    'autumn': ((170, 140, 70), (150, 80, 30)),
    'winter': ((225, 228, 235), (120, 110, 100)),
    'spring': ((130, 180, 90), (70, 140, 60)),
}
ROOF_COLOURS = ((150, 60, 50), (160, 160, 165), (90, 90, 110),
                (200, 190, 170))
ROAD_COLOUR = (110, 105, 100)
LAYOUTS = {
    'cdd': (('A', '.jpg'), ('B', '.jpg'), ('OUT', '.jpg')),
    'levir': (('A', '.png'), ('B', '.png'), ('label', '.png')),
}


def _shape(rng: np.random.Generator, size: int) -> dict:
    """A random building (rectangle) or tree (disc)."""
    kind = 'building' if rng.random() < 0.6 else 'tree'
    centre = rng.integers(size // 10, size - size // 10, 2)
    extent = int(rng.integers(size // 16, size // 7))
    return dict(kind=kind, centre=tuple(int(c) for c in centre),
                extent=extent, roof=int(rng.integers(len(ROOF_COLOURS))),
                angle=float(rng.uniform(0, 180)))


def _draw(canvas: np.ndarray, obj: dict, season: str,
          value=None) -> None:
    """Draw ``obj`` on ``canvas`` (an RGB image, or a mask with
    ``value``)."""
    if obj['kind'] == 'building':
        colour = ROOF_COLOURS[obj['roof']] if value is None else value
        box = cv2.boxPoints(((obj['centre']), (2 * obj['extent'],
                                               1.4 * obj['extent']),
                             obj['angle']))
        cv2.fillPoly(canvas, [box.astype(np.int32)], colour)
    else:
        colour = SEASONS[season][1] if value is None else value
        cv2.circle(canvas, obj['centre'], obj['extent'] // 2 + 3, colour,
                   -1)


def _scene(layout: dict, objects: List[dict], season: str, size: int,
           rng: np.random.Generator) -> np.ndarray:
    field, _ = SEASONS[season]
    img = np.empty((size, size, 3), np.float32)
    img[:] = field
    for (y0, x0, y1, x1), tint in layout['patches']:
        img[y0:y1, x0:x1] = np.clip(np.array(field) * tint, 0, 255)
    for start, end, width in layout['roads']:
        cv2.line(img, start, end, ROAD_COLOUR, width)
    for obj in objects:
        _draw(img, obj, season)
    # Season-dependent lighting and sensor noise: never labelled.
    img = img * rng.uniform(0.8, 1.2) + rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_pair(size: int, rng: np.random.Generator
              ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One (date A, date B, change mask 0/255) triple, RGB uint8."""
    patches = []
    for _ in range(int(rng.integers(2, 5))):
        y0, x0 = rng.integers(0, size - size // 4, 2)
        h, w = rng.integers(size // 6, size // 2, 2)
        patches.append(((int(y0), int(x0), int(y0 + h), int(x0 + w)),
                        float(rng.uniform(0.75, 1.15))))
    roads = []
    for _ in range(int(rng.integers(1, 3))):
        a, b = rng.integers(0, size, 2)
        start, end = ((0, int(a)), (size - 1, int(b))) if rng.random() < .5 \
            else ((int(a), 0), (int(b), size - 1))
        roads.append((start, end, int(rng.integers(3, 9))))
    layout = dict(patches=patches, roads=roads)
    kept = [_shape(rng, size) for _ in range(int(rng.integers(3, 8)))]
    vanished = [_shape(rng, size) for _ in range(int(rng.integers(0, 3)))]
    appeared = [_shape(rng, size) for _ in range(int(rng.integers(0, 3)))]
    rebuilt_a, rebuilt_b = [], []
    for _ in range(int(rng.integers(0, 2))):
        old = _shape(rng, size)
        old['kind'] = 'building'
        new = dict(old, roof=(old['roof'] + 1) % len(ROOF_COLOURS),
                   extent=int(old['extent'] * rng.uniform(1.0, 1.5)),
                   angle=old['angle'] + float(rng.uniform(20, 70)))
        rebuilt_a.append(old)
        rebuilt_b.append(new)
    season_a, season_b = rng.choice(list(SEASONS), 2)
    image_a = _scene(layout, kept + vanished + rebuilt_a, season_a, size,
                     rng)
    image_b = _scene(layout, kept + appeared + rebuilt_b, season_b, size,
                     rng)
    mask = np.zeros((size, size), np.uint8)
    for obj in vanished + appeared + rebuilt_a + rebuilt_b:
        _draw(mask, obj, season_a, value=255)
    return image_a, image_b, mask


def extra_bands(image: np.ndarray, count: int) -> np.ndarray:
    """``count`` more uint8 bands for an RGB scene: a near-infrared-like
    band first (bright over vegetation), then fixed mixtures of R, G, B.
    """
    rgb = image.astype(np.float32)
    planes = [2.0 * rgb[..., 1] - 0.8 * rgb[..., 0] - 0.2 * rgb[..., 2]
              + 40]
    for band in range(1, count):
        weights = np.random.default_rng(band).uniform(-0.5, 1.0, 3)
        planes.append(rgb @ weights / max(weights.sum(), 0.5))
    return np.clip(np.dstack(planes[:count]), 0, 255).astype(np.uint8)


def make_synthetic_cd(out_dir: str,
                      splits: Dict[str, int] = None,
                      size: int = 256,
                      layout: str = 'cdd',
                      seed: int = 0,
                      bands: int = 3) -> str:
    """Write a synthetic change-detection dataset.

    With ``bands > 3`` the dates are ``bands``-band uint8 TIFFs (R, G, B,
    then :func:`extra_bands`) and the labels PNG, in the folders of
    ``layout``.

    Args:
        out_dir (str): Root folder (created).
        splits (dict[str, int], optional): Pairs per split. Defaults to
            ``dict(train=8, val=4, test=4)``.
        size (int): Tile size in pixels. Defaults to 256.
        layout (str): ``'cdd'`` (``A/B/OUT``, JPEG) or ``'levir'``
            (``A/B/label``, PNG). Defaults to 'cdd'.
        seed (int): Random seed. Defaults to 0.
        bands (int): Bands per date (>= 3). Defaults to 3.

    Returns:
        str: ``out_dir``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {sorted(LAYOUTS)}, got '
                         f'{layout!r}.')
    if size < 32:
        raise ValueError(f'size must be at least 32, got {size}.')
    if bands < 3:
        raise ValueError(f'bands must be at least 3, got {bands}.')
    splits = splits or dict(train=8, val=4, test=4)
    folders = LAYOUTS[layout]
    if bands > 3:
        folders = tuple((folder, suffix) for folder, suffix in
                        zip((f for f, _ in folders), ('.tif', '.tif',
                                                      '.png')))
    rng = np.random.default_rng(seed)
    for split, count in splits.items():
        for folder, _ in folders:
            os.makedirs(osp.join(out_dir, split, folder), exist_ok=True)
        for index in range(count):
            arrays = make_pair(size, rng)
            for (folder, suffix), array in zip(folders, arrays):
                if suffix == '.tif':
                    write_tiff(osp.join(out_dir, split, folder,
                                        f'{index:05d}{suffix}'),
                               np.dstack([array,
                                          extra_bands(array, bands - 3)]))
                    continue
                if array.ndim == 3:
                    array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
                path = osp.join(out_dir, split, folder,
                                f'{index:05d}{suffix}')
                if not cv2.imwrite(path, array):
                    raise OSError(f'could not write {path}')
    return out_dir


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Write a synthetic CDD/LEVIR-CD-format dataset.')
    parser.add_argument('out_dir', help='output root folder')
    parser.add_argument('--train', type=int, default=8)
    parser.add_argument('--val', type=int, default=4)
    parser.add_argument('--test', type=int, default=4)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--layout', choices=sorted(LAYOUTS), default='cdd')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--bands', type=int, default=3,
                        help='bands per date; more than 3 writes TIFFs')
    args = parser.parse_args()
    make_synthetic_cd(args.out_dir,
                      dict(train=args.train, val=args.val, test=args.test),
                      args.size, args.layout, args.seed, args.bands)
    print(f'wrote {args.out_dir}')


if __name__ == '__main__':
    main()
