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
  files; optionally ``4_Ortho_RGBIR.zip``, ``3_Ortho_IRRG.zip`` and
  ``1_DSM_normalisation.zip``), to exercise the real conversion path.

Besides R, G and B every tile has a near-infrared band (high over
vegetation, low over roads and roofs) and a normalised DSM (height above
ground, 8-bit, :data:`NDSM_LEVELS_PER_METRE` grey levels per metre), drawn
from the label map with their own random stream, so that the RGB tiles
of a seed stay the same whichever bands are written.
:func:`make_vaihingen_sample` writes the IR-R-G tiles in mmseg's
converted Vaihingen layout.
"""
import os
import os.path as osp
import tempfile
import zipfile
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from .rasters import write_tiff

# Label ids written by mmseg's Potsdam converter (0 = eroded boundary).
BOUNDARY, IMPERVIOUS, BUILDING, LOW_VEGETATION, TREE, CAR, CLUTTER = range(7)
NUM_RAW_IDS = 7

# The ISPRS colour code of the label archives, RGB, indexed by label id.
ISPRS_LABEL_COLORS = np.array(
    [[0, 0, 0], [255, 255, 255], [0, 0, 255], [0, 255, 255], [0, 255, 0],
     [255, 255, 0], [255, 0, 0]], dtype=np.uint8)

# Near-infrared level (uint8) per raw label id: vegetation reflects the
# near infrared strongly, asphalt and roofs weakly.
IR_LEVELS = np.array([120, 80, 95, 190, 205, 110, 140], np.float32)
# Grey levels per metre above ground of the synthetic 8-bit nDSM.
NDSM_LEVELS_PER_METRE = 10
# Band layouts of the image files: the planes they hold, in file order.
BAND_LAYOUTS = {
    'rgb': ('r', 'g', 'b'),
    'irrg': ('ir', 'r', 'g'),
    'rgbir': ('r', 'g', 'b', 'ir'),
    'rgbir-dsm': ('r', 'g', 'b', 'ir', 'dsm'),
    'dsm': ('dsm', ),
}

# The image archives of ISPRS Potsdam and the band layout of their files.
ISPRS_IMAGE_ARCHIVES = {
    '2_Ortho_RGB': 'rgb',
    '3_Ortho_IRRG': 'irrg',
    '4_Ortho_RGBIR': 'rgbir',
    '1_DSM_normalisation': 'dsm',
}

# Tile names of the official train/val split (as in mmseg's converter).
TRAIN_TILES = ('2_10', '2_11', '2_12', '3_10', '3_11', '3_12', '4_10',
               '4_11', '4_12', '5_10', '5_11', '5_12', '6_10', '6_11')
VAL_TILES = ('2_13', '2_14', '3_13', '3_14', '4_13', '4_14', '4_15',
             '5_13', '5_14', '5_15', '6_13', '6_14', '6_15', '7_13')
# Vaihingen areas of mmseg's train/val split.
VAIHINGEN_TRAIN_AREAS = ('area1', 'area11', 'area13', 'area15', 'area17',
                         'area21', 'area23', 'area26', 'area28', 'area3',
                         'area30', 'area32', 'area34', 'area37', 'area5',
                         'area7')
VAIHINGEN_VAL_AREAS = ('area6', 'area24', 'area35', 'area16', 'area14',
                       'area22', 'area10', 'area4', 'area2', 'area20')


def textured(rng: np.random.Generator, shape: Tuple[int, int],
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
    image = textured(rng, shape, (105, 135, 70), 14, max(size // 16, 1))
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
           textured(rng, shape, (128, 126, 122), 6, max(size // 32, 1)),
           IMPERVIOUS)

    # Houses: rectangles off the road, two roof halves lit differently.
    roofs = [textured(rng, shape, roof, 8, max(size // 32, 1))
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
    heaps = textured(rng, shape, (200, 170, 80), 20, 2)
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
    foliage = textured(rng, shape, (40, 85, 35), 12, 2)
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


def render_extra_bands(rng: np.random.Generator,
                       label: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The near-infrared band and the normalised DSM of a tile.

    Args:
        rng (np.random.Generator): The random source (not the one of the
            RGB tiles).
        label (np.ndarray): The tile's label map, ids 1-6 (no boundary).

    Returns:
        tuple: The infrared band and the nDSM, ``(H, W)`` uint8 each.
    """
    shape = label.shape
    grain = max(shape[0] // 16, 1)
    small = rng.normal(0, 10, (max(shape[0] // grain, 1),
                               max(shape[1] // grain, 1)))
    blotches = cv2.resize(small.astype(np.float32), shape[::-1],
                          interpolation=cv2.INTER_CUBIC)
    infrared = (IR_LEVELS[label] + blotches
                + rng.normal(0, 5, shape)).astype(np.float32)

    height = np.zeros(shape, np.float32)
    height[label == LOW_VEGETATION] = 0.2
    height[label == CAR] = 1.5
    height[label == CLUTTER] = 1.0
    count, houses = cv2.connectedComponents(
        (label == BUILDING).astype(np.uint8))
    storeys = rng.uniform(6, 15, count).astype(np.float32)
    roofs = houses > 0
    height[roofs] = storeys[houses[roofs]]
    trees = (label == TREE).astype(np.uint8)
    if trees.any():  # crowns rise towards their centres
        dome = cv2.distanceTransform(trees, cv2.DIST_L2, 3)
        height[trees > 0] = np.minimum(4 + 0.8 * dome[trees > 0], 18)
    height += rng.normal(0, 0.15, shape).astype(np.float32)
    ndsm = height * NDSM_LEVELS_PER_METRE
    return (np.clip(cv2.GaussianBlur(infrared, (3, 3), 0.7), 0,
                    255).astype(np.uint8),
            np.clip(ndsm, 0, 255).astype(np.uint8))


def render_sample_tiles(num_train: int, num_val: int, size: int,
                        seed: int, boundary_width: int,
                        extra_bands: bool = False) -> List[dict]:
    """The tiles of a sample: dicts with ``split``, tile ``name``,
    converter-style ``crop`` name, RGB ``image`` and raw-id ``label``;
    with ``extra_bands`` also ``ir`` and ``ndsm`` (see
    :func:`render_extra_bands`)."""
    rng = np.random.default_rng(seed)
    band_rng = np.random.default_rng([seed, 1])
    tiles = []
    for index, (split, name) in enumerate(_tiles(num_train, num_val)):
        image, label = render_tile(rng, size)
        extra = {}
        if extra_bands:
            extra['ir'], extra['ndsm'] = render_extra_bands(band_rng, label)
        # A crop name as mmseg's converter writes it: the tile name and
        # the crop box; the box's x offset keeps repeated tiles apart.
        x0 = size * (index // len(TRAIN_TILES))
        crop = f'{name}_{x0}_0_{x0 + size}_{size}'
        tiles.append(dict(split=split, name=name, crop=crop, image=image,
                          label=erode_boundaries(label, boundary_width),
                          **extra))
    return tiles


def tile_bands(tile: dict, bands: str) -> np.ndarray:
    """The ``(H, W, C)`` uint8 image of ``tile`` in a band layout of
    :data:`BAND_LAYOUTS` (``'rgb'``, ``'irrg'``, ``'rgbir'``,
    ``'rgbir-dsm'``)."""
    if bands not in BAND_LAYOUTS:
        raise ValueError(f'bands must be one of {sorted(BAND_LAYOUTS)}, '
                         f'got {bands!r}.')
    planes = dict(r=tile['image'][..., 0], g=tile['image'][..., 1],
                  b=tile['image'][..., 2], ir=tile.get('ir'),
                  dsm=tile.get('ndsm'))
    return np.dstack([planes[name] for name in BAND_LAYOUTS[bands]])


def _write_image(path_stem: str, image: np.ndarray) -> str:
    """A 3-band image as PNG (colour order of the array), more as TIFF."""
    if image.shape[2] == 3:
        path = path_stem + '.png'
        cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    else:
        path = write_tiff(path_stem + '.tif', image)
    return path


def make_potsdam_sample(out_dir: str, num_train: int = 16,
                        num_val: int = 4, size: int = 256, seed: int = 0,
                        boundary_width: int = 1,
                        bands: str = 'rgb') -> Dict[str, int]:
    """Write a synthetic sample in mmseg's converted Potsdam layout.

    With ``bands='rgb'`` (or ``'irrg'``) the images are PNG, as mmseg's
    converter writes them; ``'rgbir'`` (4_Ortho_RGBIR: R, G, B, IR) and
    ``'rgbir-dsm'`` (plus the nDSM of 1_DSM_normalisation) write 4- and
    5-band uint8 TIFFs, as ``tools/dataset_converters/potsdam.py --bands``
    does.

    Args:
        out_dir (str): The data root to create (``img_dir``, ``ann_dir``).
        num_train (int): Training tiles. Defaults to 16.
        num_val (int): Validation tiles. Defaults to 4.
        size (int): Tile side in pixels. Defaults to 256.
        seed (int): Random seed; the same seed gives the same files.
            Defaults to 0.
        boundary_width (int): Width of the eroded (id 0, ignored) class
            borders; 0 gives full labels. Defaults to 1.
        bands (str): Band layout of the images, a key of
            :data:`BAND_LAYOUTS`. Defaults to 'rgb'.

    Returns:
        dict: Number of tiles written per split.
    """
    if bands not in BAND_LAYOUTS or bands == 'dsm':
        raise ValueError(f'bands must be one of rgb, irrg, rgbir, '
                         f'rgbir-dsm; got {bands!r}.')
    return _write_sample(
        out_dir, render_sample_tiles(num_train, num_val, size, seed,
                                     boundary_width, bands != 'rgb'),
        bands, lambda tile: tile['crop'])


def _write_sample(out_dir: str, tiles: List[dict], bands: str,
                  crop_name) -> Dict[str, int]:
    counts = {'train': 0, 'val': 0}
    for split in counts:
        for kind in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(out_dir, kind, split), exist_ok=True)
    for tile in tiles:
        split, crop = tile['split'], crop_name(tile)
        _write_image(osp.join(out_dir, 'img_dir', split, crop),
                     tile_bands(tile, bands))
        cv2.imwrite(osp.join(out_dir, 'ann_dir', split, crop + '.png'),
                    tile['label'])
        counts[split] += 1
    return counts


def make_vaihingen_sample(out_dir: str, num_train: int = 16,
                          num_val: int = 4, size: int = 256, seed: int = 0,
                          boundary_width: int = 1) -> Dict[str, int]:
    """Write a synthetic ISPRS Vaihingen sample in mmseg's converted
    layout: IR-R-G PNG crops ``img_dir/<split>/area<N>_<x0>_<y0>_<x1>_<y1>
    .png`` (the false-colour order of the Vaihingen orthophotos: the file's
    red channel is the infrared) and label maps in ``ann_dir``, with the
    ids of mmseg's converter (0 boundary, 1-6 as Potsdam).

    Args are those of :func:`make_potsdam_sample`.

    Returns:
        dict: Number of tiles written per split.
    """
    tiles = render_sample_tiles(num_train, num_val, size, seed,
                                boundary_width, extra_bands=True)
    areas = {'train': VAIHINGEN_TRAIN_AREAS, 'val': VAIHINGEN_VAL_AREAS}
    index = {'train': 0, 'val': 0}
    for tile in tiles:
        split = tile['split']
        names = areas[split]
        i = index[split]
        x0 = size * (i // len(names))
        tile['vaihingen_crop'] = (f'{names[i % len(names)]}_{x0}_0_'
                                  f'{x0 + size}_{size}')
        index[split] += 1
    return _write_sample(out_dir, tiles, 'irrg',
                         lambda tile: tile['vaihingen_crop'])


def isprs_archive_member(archive: str, tile: str) -> str:
    """The path of tile ``tile`` (e.g. ``'2_10'``) inside an image archive
    of ISPRS Potsdam (a key of :data:`ISPRS_IMAGE_ARCHIVES`)."""
    if archive == '1_DSM_normalisation':
        row, col = tile.split('_')
        return (f'{archive}/dsm_potsdam_{int(row):02d}_{int(col):02d}_'
                'normalized_lastools.jpg')
    return f'{archive}/top_potsdam_{tile}_{archive.split("_")[-1]}.tif'


def write_isprs_archives(out_dir: str, num_train: int = 1, num_val: int = 1,
                         size: int = 256, seed: int = 0,
                         eroded: bool = False,
                         archives: Sequence[str] = ('2_Ortho_RGB', )
                         ) -> List[str]:
    """Write synthetic tiles as the official ISPRS Potsdam archives.

    ``2_Ortho_RGB.zip`` holds ``2_Ortho_RGB/top_potsdam_<tile>_RGB.tif``;
    the labels are colour-coded ``top_potsdam_<tile>_label.tif`` in
    ``5_Labels_all.zip``, or, with ``eroded``,
    ``top_potsdam_<tile>_label_noBoundary.tif`` in
    ``5_Labels_all_noBoundary.zip``. Tiles are drawn as by
    :func:`make_potsdam_sample` with the same seed and size. The other
    image archives (``archives``): ``3_Ortho_IRRG`` (IR-R-G TIFFs),
    ``4_Ortho_RGBIR`` (4-band TIFFs ``top_potsdam_<tile>_RGBIR.tif``) and
    ``1_DSM_normalisation`` (8-bit JPEG
    ``dsm_potsdam_<0row>_<0col>_normalized_lastools.jpg``).

    Args:
        out_dir (str): Where to write the archives.
        num_train (int): Tiles from the training split. Defaults to 1.
        num_val (int): Tiles from the validation split. Defaults to 1.
        size (int): Tile side in pixels. Defaults to 256.
        seed (int): Random seed. Defaults to 0.
        eroded (bool): Write the eroded labels (boundary 1 pixel, black).
            Defaults to False.
        archives (Sequence[str]): Image archives to write, keys of
            :data:`ISPRS_IMAGE_ARCHIVES`. Defaults to ``('2_Ortho_RGB',)``.

    Returns:
        list[str]: The paths of the image archives, then the label archive.
    """
    if max(num_train, num_val) > len(TRAIN_TILES):
        raise ValueError(f'At most {len(TRAIN_TILES)} tiles per split have '
                         'distinct official names.')
    unknown = set(archives) - set(ISPRS_IMAGE_ARCHIVES)
    if unknown:
        raise ValueError(f'Unknown archives {sorted(unknown)}; choose from '
                         f'{sorted(ISPRS_IMAGE_ARCHIVES)}.')
    tiles = render_sample_tiles(num_train, num_val, size, seed, int(eroded),
                                extra_bands=archives != ('2_Ortho_RGB', ))
    label_zip = '5_Labels_all_noBoundary' if eroded else '5_Labels_all'
    label_suffix = '_label_noBoundary' if eroded else '_label'
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    with tempfile.TemporaryDirectory() as tmp:
        for archive in archives:
            paths.append(osp.join(out_dir, archive + '.zip'))
            with zipfile.ZipFile(paths[-1], 'w') as image_zip:
                for tile in tiles:
                    member = isprs_archive_member(archive, tile['name'])
                    image = tile_bands(tile, ISPRS_IMAGE_ARCHIVES[archive])
                    file = osp.join(tmp, osp.basename(member))
                    if archive == '1_DSM_normalisation':
                        cv2.imwrite(file, image[..., 0],
                                    [cv2.IMWRITE_JPEG_QUALITY, 95])
                    elif image.shape[2] == 3:
                        cv2.imwrite(file,
                                    cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                    else:
                        write_tiff(file, image)
                    image_zip.write(file, member)
        paths.append(osp.join(out_dir, label_zip + '.zip'))
        with zipfile.ZipFile(paths[-1], 'w') as lab_zip:
            for tile in tiles:
                stem = f"top_potsdam_{tile['name']}"
                colors = ISPRS_LABEL_COLORS[tile['label']]
                lab_file = osp.join(tmp, stem + label_suffix + '.tif')
                cv2.imwrite(lab_file,
                            cv2.cvtColor(colors, cv2.COLOR_RGB2BGR))
                lab_zip.write(lab_file, osp.basename(lab_file))
    return paths


def write_vaihingen_archives(out_dir: str, num_train: int = 1,
                             num_val: int = 1, size: int = 256,
                             seed: int = 0) -> List[str]:
    """Write synthetic tiles as the two ISPRS Vaihingen archives that
    mmseg's converter reads: ``ISPRS_semantic_labeling_Vaihingen.zip``
    (``top/top_mosaic_09cm_area<N>.tif``, IR-R-G) and
    ``ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip``
    (colour-coded ``top_mosaic_09cm_area<N>_noBoundary.tif``). Tiles as
    :func:`make_vaihingen_sample` draws them (eroded labels).

    Returns:
        list[str]: The paths of the image and the label archive.
    """
    if num_train > len(VAIHINGEN_TRAIN_AREAS) or \
            num_val > len(VAIHINGEN_VAL_AREAS):
        raise ValueError('Too many tiles for distinct Vaihingen areas.')
    tiles = render_sample_tiles(num_train, num_val, size, seed, 1,
                                extra_bands=True)
    areas = {'train': list(VAIHINGEN_TRAIN_AREAS),
             'val': list(VAIHINGEN_VAL_AREAS)}
    os.makedirs(out_dir, exist_ok=True)
    image_path = osp.join(out_dir, 'ISPRS_semantic_labeling_Vaihingen.zip')
    label_path = osp.join(
        out_dir, 'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_'
        'COMPLETE.zip')
    with tempfile.TemporaryDirectory() as tmp, \
            zipfile.ZipFile(image_path, 'w') as image_zip, \
            zipfile.ZipFile(label_path, 'w') as label_zip:
        for tile in tiles:
            tile['area'] = areas[tile['split']].pop(0)
            stem = f"top_mosaic_09cm_{tile['area']}"
            image_file = osp.join(tmp, stem + '.tif')
            cv2.imwrite(image_file, cv2.cvtColor(tile_bands(tile, 'irrg'),
                                                 cv2.COLOR_RGB2BGR))
            image_zip.write(image_file, f'top/{stem}.tif')
            label_file = osp.join(tmp, stem + '_noBoundary.tif')
            cv2.imwrite(label_file, cv2.cvtColor(
                ISPRS_LABEL_COLORS[tile['label']], cv2.COLOR_RGB2BGR))
            label_zip.write(label_file, osp.basename(label_file))
    return [image_path, label_path]
