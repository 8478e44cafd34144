"""A synthetic Sentinel-2-style land-cover sample: 13-band uint16 GeoTIFFs.

Each tile is a 10 m grid of land-cover regions (water, vegetation, bare
soil, built-up area) with the spectra of the 13 Sentinel-2 L1C bands
(B1, B2, B3, B4, B5, B6, B7, B8, B8A, B9, B10, B11, B12, reflectance x
10000 as uint16, all bands resampled to 10 m), per-region brightness and
sensor noise. The classes differ mostly outside the visible bands (the
red edge, near and short-wave infrared), so a model has to use them.

Every third training tile lies on the edge of the satellite's swath: a
corner of it is nodata (0 in every band, the GeoTIFF's nodata value)
while its label map still holds classes there; the loading pipeline
(``IgnoreNodataLabels``) gives those pixels the ignore label.

Layout (mmseg's): ``img_dir/{train,val}/*.tif``, ``ann_dir/{train,val}/
*.png`` with ids 0-3 (:data:`CLASSES`).

Usage::

    python -m lemevit_mm.testing.sentinel2 data/sentinel2_sample
"""
import argparse
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np

from .rasters import write_tiff

BAND_NAMES = ('B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B9',
              'B10', 'B11', 'B12')
CLASSES = ('water', 'vegetation', 'bare_soil', 'built_up')
PALETTE = [[40, 90, 200], [40, 160, 60], [200, 170, 110], [220, 60, 60]]
# Mean reflectance x 10000 of each class in each band (rows: CLASSES).
SPECTRA = np.array([
    [1100, 950, 800, 600, 500, 420, 380, 320, 280, 120, 15, 150, 90],
    [1250, 1000, 950, 650, 1200, 2900, 3500, 3700, 3850, 1100, 25, 2000,
     1000],
    [1450, 1450, 1650, 1950, 2250, 2450, 2600, 2700, 2800, 900, 30, 3300,
     2800],
    [1600, 1550, 1550, 1650, 1750, 1850, 1950, 2050, 2100, 750, 40, 2400,
     2150],
], np.float32)
NODATA = 0
PIXEL_SIZE = 10.0


def render_tile(rng: np.random.Generator, size: int,
                swath_edge: bool = False):
    """One tile: ``(size, size, 13)`` uint16 bands, ``(size, size)`` uint8
    class ids and the ``(size, size)`` bool valid mask."""
    # Land-cover regions: nearest of a few random seeds (Voronoi cells).
    seeds = rng.uniform(0, size, (int(rng.integers(5, 10)), 2))
    classes = rng.integers(0, len(CLASSES), len(seeds))
    ys, xs = np.mgrid[:size, :size]
    dist = np.hypot(ys[..., None] - seeds[:, 0], xs[..., None] - seeds[:, 1])
    region = dist.argmin(-1)
    label = classes[region].astype(np.uint8)
    # A river across the tile.
    if rng.random() < 0.5:
        a, b = rng.uniform(0.2, 0.8, 2) * size
        centre = a + (b - a) * xs / size
        label[np.abs(ys - centre) < rng.uniform(2, 5)] = 0
    brightness = rng.uniform(0.85, 1.15, len(seeds))[region]
    bands = SPECTRA[label] * brightness[..., None]
    bands *= 1 + rng.normal(0, 0.03, bands.shape).astype(np.float32)
    bands = cv2.GaussianBlur(bands, (3, 3), 0.6)
    image = np.clip(bands, 1, 20000).astype(np.uint16)
    valid = np.ones((size, size), bool)
    if swath_edge:
        valid = xs + ys < rng.uniform(1.0, 1.5) * size
        image[~valid] = NODATA
    return image, label, valid


def make_sentinel2_sample(out_dir: str, num_train: int = 12,
                          num_val: int = 4, size: int = 64,
                          seed: int = 0) -> Dict[str, int]:
    """Write the synthetic Sentinel-2 sample.

    Args:
        out_dir (str): The data root to create.
        num_train (int): Training tiles. Defaults to 12.
        num_val (int): Validation tiles. Defaults to 4.
        size (int): Tile side in pixels (>= 32). Defaults to 64.
        seed (int): Random seed; the same seed gives the same files.
            Defaults to 0.

    Returns:
        dict: Number of tiles written per split.
    """
    if size < 32:
        raise ValueError(f'size must be at least 32 pixels, got {size}.')
    rng = np.random.default_rng(seed)
    counts = {'train': num_train, 'val': num_val}
    for split, count in counts.items():
        for kind in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(out_dir, kind, split), exist_ok=True)
        for index in range(count):
            edge = split == 'train' and index % 3 == 2
            image, label, _ = render_tile(rng, size, swath_edge=edge)
            name = f'S2_T32UNU_{split}_{index:04d}'
            origin = (500000 + index * size * PIXEL_SIZE,
                      5400000 - (split == 'val') * 50000)
            write_tiff(osp.join(out_dir, 'img_dir', split, name + '.tif'),
                       image, origin, PIXEL_SIZE, nodata=NODATA)
            cv2.imwrite(osp.join(out_dir, 'ann_dir', split, name + '.png'),
                        label)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Write a synthetic 13-band uint16 Sentinel-2-style '
        'land-cover sample in mmseg\'s layout.')
    parser.add_argument('out_dir')
    parser.add_argument('--num-train', type=int, default=12)
    parser.add_argument('--num-val', type=int, default=4)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    counts = make_sentinel2_sample(args.out_dir, args.num_train,
                                   args.num_val, args.size, args.seed)
    print(f'Wrote {counts["train"]} train and {counts["val"]} val '
          f'13-band tiles to {args.out_dir}.')


if __name__ == '__main__':
    main()
