"""A small synthetic ISPRS Potsdam look-alike, for tests and the demo.

Each tile is a top view of a suburb drawn at random: low vegetation as the
ground, a road network (impervious surface), houses with gabled roofs
(building), tree crowns, cars on the roads and a few clutter objects.
Colours and textures differ enough per class that a segmentation model
learns them in a few minutes of CPU training, and are noisy enough that it
has to.

Two outputs, with the same tiles for the same seed:

- :func:`make_potsdam_sample` writes mmseg's converted layout
  (``img_dir/{train,val}``, ``ann_dir/{train,val}``, PNG files named as
  mmseg's converter names its crops) with the label ids that converter
  writes: 0 boundary (ignored), 1 impervious surface, 2 building, 3 low
  vegetation, 4 tree, 5 car, 6 clutter.
- :func:`write_isprs_archives` writes the official archives
  (``2_Ortho_RGB.zip`` and ``5_Labels_all.zip`` or
  ``5_Labels_all_noBoundary.zip``, colour-coded GeoTIFF-named ``.tif``
  files), to exercise the real conversion path.
"""
import os
import os.path as osp
import tempfile
import zipfile
from typing import Dict, List, Tuple

import cv2
import numpy as np

# Label ids written by mmseg's Potsdam converter (0 = eroded boundary).
BOUNDARY, IMPERVIOUS, BUILDING, LOW_VEGETATION, TREE, CAR, CLUTTER = range(7)
NUM_RAW_IDS = 7

# The ISPRS colour code of the label archives, RGB, indexed by label id.
ISPRS_LABEL_COLORS = np.array(
    [[0, 0, 0], [255, 255, 255], [0, 0, 255], [0, 255, 255], [0, 255, 0],
     [255, 255, 0], [255, 0, 0]], dtype=np.uint8)

# Tile names of the official train/val split (as in mmseg's converter).
TRAIN_TILES = ('2_10', '2_11', '2_12', '3_10', '3_11', '3_12', '4_10',
               '4_11', '4_12', '5_10', '5_11', '5_12', '6_10', '6_11')
VAL_TILES = ('2_13', '2_14', '3_13', '3_14', '4_13', '4_14', '4_15',
             '5_13', '5_14', '5_15', '6_13', '6_14', '6_15', '7_13')


def _textured(rng: np.random.Generator, shape: Tuple[int, int],
              color: Tuple[int, int, int], noise: float,
              grain: int) -> np.ndarray:
    """A float RGB field around ``color`` with blotches of size ``grain``."""
    height, width = shape
    small = rng.normal(0, noise, (max(height // grain, 1),
                                  max(width // grain, 1), 3))
    blotches = cv2.resize(small.astype(np.float32), (width, height),
                          interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, noise / 2, (height, width, 3))
    return np.asarray(color, np.float32) + blotches + fine


def _paint(image: np.ndarray, label: np.ndarray, mask: np.ndarray,
           texture: np.ndarray, class_id: int) -> None:
    image[mask] = texture[mask]
    label[mask] = class_id


def render_tile(rng: np.random.Generator,
                size: int = 256) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one synthetic aerial tile.

    Args:
        rng (np.random.Generator): The random source.
        size (int): Tile height and width in pixels (>= 32).
            Defaults to 256.

    Returns:
        tuple: The RGB image ``(size, size, 3)`` uint8 and its label map
        ``(size, size)`` uint8 with ids 1-6 (no boundary).
    """
    if size < 32:
        raise ValueError(f'size must be at least 32 pixels, got {size}.')
    shape = (size, size)
    unit = size / 256  # drawing scale: sizes below are for 256 pixels
    image = _textured(rng, shape, (105, 135, 70), 14, max(size // 16, 1))
    label = np.full(shape, LOW_VEGETATION, np.uint8)
    ys, xs = np.mgrid[:size, :size]

    # Roads: one or two straight roads across the tile, asphalt grey.
    road = np.zeros(shape, bool)
    road_lines = []
    first_vertical = bool(rng.integers(2))
    for vertical in (first_vertical, not first_vertical)[
            :rng.integers(1, 3)]:
        centre = int(rng.uniform(0.2, 0.8) * size)
        half = max(int(rng.uniform(14, 22) * unit), 3)
        coord = xs if vertical else ys
        road |= np.abs(coord - centre) <= half
        road_lines.append((vertical, centre, half))
    for _ in range(rng.integers(0, 2)):  # a car park or a paved yard
        top, left = rng.integers(0, size - int(40 * unit), 2)
        road[top:top + int(rng.uniform(30, 60) * unit),
             left:left + int(rng.uniform(30, 60) * unit)] = True
    _paint(image, label, road,
           _textured(rng, shape, (128, 126, 122), 6, max(size // 32, 1)),
           IMPERVIOUS)

    # Houses: rectangles off the road, two roof halves lit differently.
    roofs = [_textured(rng, shape, roof, 8, max(size // 32, 1))
             for roof in ((175, 85, 65), (95, 95, 110))]
    free = ~road
    wanted, attempts = int(rng.integers(4, 9)), 0
    while wanted and attempts < 40:
        attempts += 1
        height = int(rng.uniform(40, 90) * unit)
        width = int(rng.uniform(40, 90) * unit)
        top = int(rng.integers(0, size - height))
        left = int(rng.integers(0, size - width))
        box = np.zeros(shape, bool)
        box[top:top + height, left:left + width] = True
        if (box & ~free).sum() > 0.1 * box.sum():
            continue  # on a road or another house: try elsewhere
        wanted -= 1
        texture = roofs[int(rng.random() < 0.4)].copy()
        half = np.zeros(shape, bool)
        if width > height:
            half[top:top + height // 2, left:left + width] = True
        else:
            half[top:top + height, left:left + width // 2] = True
        texture[half] *= 0.75  # the roof side in shade
        _paint(image, label, box & free, texture, BUILDING)
        free &= ~box

    # Clutter: a few small heaps of soil, containers or debris.
    heaps = _textured(rng, shape, (200, 170, 80), 20, 2)
    for _ in range(rng.integers(2, 6)):
        centre = rng.integers(0, size, 2)
        axes = (max(int(rng.uniform(8, 16) * unit), 2),
                max(int(rng.uniform(6, 12) * unit), 2))
        blob = np.zeros(shape, np.uint8)
        cv2.ellipse(blob, (int(centre[0]), int(centre[1])), axes,
                    float(rng.uniform(0, 180)), 0, 360, 1, -1)
        mask = blob.astype(bool) & free
        _paint(image, label, mask, heaps, CLUTTER)

    # Trees: round crowns with a dark core, on anything but houses.
    foliage = _textured(rng, shape, (40, 85, 35), 12, 2)
    for _ in range(rng.integers(7, 15)):
        cx, cy = rng.integers(0, size, 2)
        radius = rng.uniform(10, 24) * unit
        dist = np.hypot(xs - cx, ys - cy)
        crown = (dist <= radius) & (label != BUILDING)
        shade = 1.1 - 0.4 * dist[crown] / max(radius, 1)
        image[crown] = foliage[crown] * shade[:, None]
        label[crown] = TREE

    # Cars: small bright boxes on the roads, along the road direction.
    for vertical, centre, half in road_lines:
        for _ in range(rng.integers(2, 6)):
            length = max(int(rng.uniform(20, 26) * unit), 3)
            breadth = max(int(rng.uniform(10, 12) * unit), 2)
            along = int(rng.integers(0, size - length))
            across = centre + int(rng.integers(-half, half - breadth + 1))
            box = np.zeros(shape, bool)
            if vertical:
                box[along:along + length, across:across + breadth] = True
            else:
                box[across:across + breadth, along:along + length] = True
            color = rng.choice([(200, 30, 30), (30, 60, 200),
                                (235, 235, 240), (20, 20, 25),
                                (230, 200, 40)])
            image[box] = color + rng.normal(0, 6, (int(box.sum()), 3))
            label[box] = CAR

    image = cv2.GaussianBlur(image, (3, 3), 0.7)
    return np.clip(image, 0, 255).astype(np.uint8), label


def erode_boundaries(label: np.ndarray, width: int = 1) -> np.ndarray:
    """Mark pixels within ``width`` of a class border as boundary (0), like
    the eroded ISPRS labels (``5_Labels_all_noBoundary``)."""
    if width <= 0:
        return label.copy()
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    low = cv2.erode(label, kernel)
    high = cv2.dilate(label, kernel)
    eroded = label.copy()
    eroded[low != high] = BOUNDARY
    return eroded


def _tiles(num_train: int, num_val: int) -> List[Tuple[str, str]]:
    """(split, tile name) of the sample, cycling through the real names."""
    return ([('train', TRAIN_TILES[i % len(TRAIN_TILES)])
             for i in range(num_train)]
            + [('val', VAL_TILES[i % len(VAL_TILES)])
               for i in range(num_val)])


def render_sample_tiles(num_train: int, num_val: int, size: int,
                        seed: int, boundary_width: int) -> List[dict]:
    """The tiles of a sample: dicts with ``split``, tile ``name``,
    converter-style ``crop`` name, RGB ``image`` and raw-id ``label``."""
    rng = np.random.default_rng(seed)
    tiles = []
    for index, (split, name) in enumerate(_tiles(num_train, num_val)):
        image, label = render_tile(rng, size)
        # A crop name as mmseg's converter writes it: the tile name and
        # the crop box; the box's x offset keeps repeated tiles apart.
        x0 = size * (index // len(TRAIN_TILES))
        crop = f'{name}_{x0}_0_{x0 + size}_{size}'
        tiles.append(dict(split=split, name=name, crop=crop, image=image,
                          label=erode_boundaries(label, boundary_width)))
    return tiles


def make_potsdam_sample(out_dir: str, num_train: int = 16,
                        num_val: int = 4, size: int = 256, seed: int = 0,
                        boundary_width: int = 1) -> Dict[str, int]:
    """Write a synthetic sample in mmseg's converted Potsdam layout.

    Args:
        out_dir (str): The data root to create (``img_dir``, ``ann_dir``).
        num_train (int): Training tiles. Defaults to 16.
        num_val (int): Validation tiles. Defaults to 4.
        size (int): Tile side in pixels. Defaults to 256.
        seed (int): Random seed; the same seed gives the same files.
            Defaults to 0.
        boundary_width (int): Width of the eroded (id 0, ignored) class
            borders; 0 gives full labels. Defaults to 1.

    Returns:
        dict: Number of tiles written per split.
    """
    counts = {'train': 0, 'val': 0}
    for split in counts:
        for kind in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(out_dir, kind, split), exist_ok=True)
    tiles = render_sample_tiles(num_train, num_val, size, seed,
                                boundary_width)
    for tile in tiles:
        split, crop = tile['split'], tile['crop']
        cv2.imwrite(osp.join(out_dir, 'img_dir', split, crop + '.png'),
                    cv2.cvtColor(tile['image'], cv2.COLOR_RGB2BGR))
        cv2.imwrite(osp.join(out_dir, 'ann_dir', split, crop + '.png'),
                    tile['label'])
        counts[split] += 1
    return counts


def write_isprs_archives(out_dir: str, num_train: int = 1, num_val: int = 1,
                         size: int = 256, seed: int = 0,
                         eroded: bool = False) -> List[str]:
    """Write synthetic tiles as the official ISPRS Potsdam archives.

    ``2_Ortho_RGB.zip`` holds ``2_Ortho_RGB/top_potsdam_<tile>_RGB.tif``;
    the labels are colour-coded ``top_potsdam_<tile>_label.tif`` in
    ``5_Labels_all.zip``, or, with ``eroded``,
    ``top_potsdam_<tile>_label_noBoundary.tif`` in
    ``5_Labels_all_noBoundary.zip``. Tiles are drawn as by
    :func:`make_potsdam_sample` with the same seed and size.

    Args:
        out_dir (str): Where to write the archives.
        num_train (int): Tiles from the training split. Defaults to 1.
        num_val (int): Tiles from the validation split. Defaults to 1.
        size (int): Tile side in pixels. Defaults to 256.
        seed (int): Random seed. Defaults to 0.
        eroded (bool): Write the eroded labels (boundary 1 pixel, black).
            Defaults to False.

    Returns:
        list[str]: The paths of the two archives.
    """
    if max(num_train, num_val) > len(TRAIN_TILES):
        raise ValueError(f'At most {len(TRAIN_TILES)} tiles per split have '
                         'distinct official names.')
    tiles = render_sample_tiles(num_train, num_val, size, seed, int(eroded))
    label_zip = '5_Labels_all_noBoundary' if eroded else '5_Labels_all'
    label_suffix = '_label_noBoundary' if eroded else '_label'
    os.makedirs(out_dir, exist_ok=True)
    rgb_path = osp.join(out_dir, '2_Ortho_RGB.zip')
    label_path = osp.join(out_dir, label_zip + '.zip')
    with tempfile.TemporaryDirectory() as tmp, \
            zipfile.ZipFile(rgb_path, 'w') as rgb_zip, \
            zipfile.ZipFile(label_path, 'w') as lab_zip:
        for tile in tiles:
            stem = f"top_potsdam_{tile['name']}"
            rgb_file = osp.join(tmp, stem + '_RGB.tif')
            cv2.imwrite(rgb_file,
                        cv2.cvtColor(tile['image'], cv2.COLOR_RGB2BGR))
            rgb_zip.write(rgb_file, f'2_Ortho_RGB/{stem}_RGB.tif')
            colors = ISPRS_LABEL_COLORS[tile['label']]
            lab_file = osp.join(tmp, stem + label_suffix + '.tif')
            cv2.imwrite(lab_file, cv2.cvtColor(colors, cv2.COLOR_RGB2BGR))
            lab_zip.write(lab_file, osp.basename(lab_file))
    return [rgb_path, label_path]
