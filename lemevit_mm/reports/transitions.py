"""From-to transitions between two class maps of the same area: how many
pixels (and square metres) of each class of date A became each class of
date B.

The two maps are read in blocks of full rows, never whole: the from-to
counts are accumulated block by block with :func:`numpy.bincount` of the
transition codes ``from * K + to`` (K classes), and the code of every
pixel is written block by block to a GeoTIFF with the map's
georeference, a colour table (a changed pixel in the colour of the class
it became, an unchanged one in a faded colour of its class) and the
transitions named in its metadata (``transition_<code>=<from> -> <to>``).
A pixel that is nodata in either map (the file's nodata value or mask, or
``nodata`` given) is left out of the counts and is nodata in the codes.

Outputs (in a folder): ``transitions.tif``, ``transition_matrix_pixels.csv``
and ``transition_matrix_m2.csv`` (rows: date A's class, columns: date B's),
``class_areas.csv`` (per class: the area of each date and the change);
with ``preview`` a quicklook ``transitions.png``. The per-class areas are
those of the pixels valid on both dates (the matrix's row and column
sums), so that the changes add up to zero.
"""
import csv
import io
import os.path as osp
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..io.atomic import write_atomically
from ..io.raster import (GeoTiffWriter, RasterError, RasterGrid,
                         check_same_grid)
from .areas import row_areas_m2

__all__ = [
    'transition_matrix', 'class_map_legend', 'transition_colormap',
    'transition_tags', 'run_transitions', 'TRANSITIONS_TIF',
    'default_palette'
]

TRANSITIONS_TIF = 'transitions.tif'
BLOCK_ROWS = 256


def transition_matrix(labels_a: np.ndarray, labels_b: np.ndarray,
                      num_classes: int,
                      valid: Optional[np.ndarray] = None,
                      weights: Optional[np.ndarray] = None) -> np.ndarray:
    """The ``(K, K)`` from-to counts of two class maps held in memory
    (``weights``: a value per pixel to add up instead of 1)."""
    labels_a = np.asarray(labels_a)
    labels_b = np.asarray(labels_b)
    if labels_a.shape != labels_b.shape:
        raise ValueError(f'class maps of shapes {labels_a.shape} and '
                         f'{labels_b.shape}')
    if valid is None:
        valid = np.ones(labels_a.shape, bool)
    codes = labels_a[valid].astype(np.int64) * num_classes + \
        labels_b[valid].astype(np.int64)
    w = None if weights is None else np.asarray(weights)[valid]
    counts = np.bincount(codes, weights=w, minlength=num_classes ** 2)
    return counts.reshape(num_classes, num_classes)


def default_palette(count: int) -> List[Tuple[int, int, int]]:
    """Fixed, distinct colours for classes without a palette."""
    from matplotlib import colormaps
    colours = colormaps['tab20']
    return [tuple(int(255 * v) for v in colours(i % 20)[:3])
            for i in range(count)]


def _open(path: str):
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
    if not osp.isfile(path):
        raise RasterError(f'{path}: no such file.')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioIOError as error:
        raise RasterError(f'{path}: not a raster GDAL can read ({error}).'
                          ) from None


def class_map_legend(dataset) -> Tuple[Optional[List[str]],
                                       Optional[List[Tuple[int, ...]]]]:
    """The class names (the ``classes`` tag this project's class maps
    carry) and colours (band 1's colour table) of an open class map;
    None for what it lacks."""
    tags = dataset.tags()
    classes = [c for c in tags['classes'].split(',')] if \
        tags.get('classes') else None
    palette = None
    try:
        table = dataset.colormap(1)
    except ValueError:  # no colour table
        table = None
    if table and classes:
        palette = [tuple(table.get(i, (0, 0, 0, 255))[:3])
                   for i in range(len(classes))]
    return classes, palette


def transition_colormap(palette: Sequence[Sequence[int]],
                        nodata: int) -> Dict[int, Tuple[int, ...]]:
    """The colour table of the codes: a change in the colour of the class
    it became, no change in its class's colour faded towards white,
    nodata transparent."""
    k = len(palette)
    table = {}
    for f in range(k):
        for t in range(k):
            colour = palette[t] if f != t else \
                [int(round(255 - (255 - c) * 0.35)) for c in palette[f]]
            table[f * k + t] = (*(int(c) for c in colour[:3]), 255)
    table[nodata] = (0, 0, 0, 0)
    return table


def transition_tags(classes: Sequence[str]) -> Dict[str, str]:
    """The metadata of the code raster: the classes and the name of every
    transition code."""
    k = len(classes)
    tags = dict(classes=','.join(classes), num_classes=str(k),
                code=f'from * {k} + to')
    for f, name_f in enumerate(classes):
        for t, name_t in enumerate(classes):
            tags[f'transition_{f * k + t}'] = f'{name_f} -> {name_t}'
    return tags


def _matrix_csv(path: str, matrix: np.ndarray, classes: Sequence[str],
                fmt: str) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator='\n')
    writer.writerow(['from \\ to'] + list(classes) + ['total'])
    for name, row in zip(classes, matrix):
        writer.writerow([name] + [fmt.format(v) for v in row] +
                        [fmt.format(row.sum())])
    writer.writerow(['total'] + [fmt.format(v) for v in matrix.sum(0)] +
                    [fmt.format(matrix.sum())])
    _write_text(path, text.getvalue())


def _write_text(path: str, text: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, 'w', newline='') as f:
            f.write(text)

    write_atomically(path, write, make_folder=True)


def _areas_csv(path: str, pixels: np.ndarray, m2: Optional[np.ndarray],
               classes: Sequence[str]) -> List[Dict[str, Any]]:
    rows = []
    for index, name in enumerate(classes):
        row: Dict[str, Any] = dict(
            class_name=name, pixels_a=int(pixels[index].sum()),
            pixels_b=int(pixels[:, index].sum()))
        row['change_pixels'] = row['pixels_b'] - row['pixels_a']
        if m2 is not None:
            row['area_m2_a'] = float(m2[index].sum())
            row['area_m2_b'] = float(m2[:, index].sum())
            row['change_m2'] = row['area_m2_b'] - row['area_m2_a']
        row['change_percent'] = None if not row['pixels_a'] else \
            100. * row['change_pixels'] / row['pixels_a']
        rows.append(row)
    columns = ['class', 'pixels_a', 'pixels_b', 'change_pixels']
    if m2 is not None:
        columns += ['area_m2_a', 'area_m2_b', 'change_m2']
    columns.append('change_percent')
    text = io.StringIO()
    writer = csv.writer(text, lineterminator='\n')
    writer.writerow(columns)
    for row in rows:
        values = []
        for column in columns:
            value = row['class_name' if column == 'class' else column]
            values.append('' if value is None else
                          f'{value:.3f}' if isinstance(value, float)
                          else value)
        writer.writerow(values)
    _write_text(path, text.getvalue())
    return rows


def _scan_classes(dataset_a, dataset_b, nodata, block_rows: int) -> int:
    """The number of classes of two maps without names: their largest
    valid value + 1 (a first pass over the blocks)."""
    largest = -1
    for row in range(0, dataset_a.height, block_rows):
        for labels, valid in _blocks_of(dataset_a, dataset_b, nodata, row,
                                        block_rows):
            if valid.any():
                largest = max(largest, int(labels[valid].max()))
    return largest + 1


def _blocks_of(dataset_a, dataset_b, nodata, row: int, block_rows: int):
    """The labels and validity of both maps in the block at ``row``."""
    from rasterio.windows import Window
    n = min(block_rows, dataset_a.height - row)
    window = Window(0, row, dataset_a.width, n)
    valid = np.ones((n, dataset_a.width), bool)
    out = []
    for dataset in (dataset_a, dataset_b):
        labels = dataset.read(1, window=window)
        valid &= dataset.read_masks(1, window=window) > 0
        if nodata is not None:
            valid &= labels != nodata
        out.append(labels)
    for labels in out:
        yield labels, valid


def run_transitions(map_a: str,
                    map_b: str,
                    out_dir: str,
                    classes: Optional[Sequence[str]] = None,
                    palette: Optional[Sequence[Sequence[int]]] = None,
                    nodata: Optional[int] = None,
                    align: bool = False,
                    block_rows: int = BLOCK_ROWS,
                    preview: bool = False,
                    image: Optional[str] = None,
                    preview_bands: Optional[Sequence[int]] = None
                    ) -> Dict[str, Any]:
    """Count the from-to transitions of two class maps block by block and
    write the report into ``out_dir``.

    Args:
        map_a, map_b (str): Class maps (band 1: class ids) of date A and
            date B.
        out_dir (str): The report folder.
        classes (Sequence[str], optional): Class names; default the maps'
            ``classes`` tag, else ``class_0 ...`` up to the largest value.
        palette (Sequence, optional): A colour per class; default the
            colour table of map A, else fixed colours.
        nodata (int, optional): A class id to leave out (besides each
            file's nodata value and mask).
        align (bool): Resample map B onto map A's grid (nearest
            neighbour); else the grids must be the same.
        block_rows (int): Rows read and written at a time.
        preview (bool): Also write ``transitions.png``.
        image (str, optional): The raster under the quicklook (date B).
        preview_bands (Sequence[int], optional): Its bands shown as RGB.

    Returns:
        dict: ``classes``, ``pixels`` and ``m2`` (``(K, K)`` matrices;
        ``m2`` None without CRS), ``areas`` (the rows of
        ``class_areas.csv``) and the written ``paths``.
    """
    if block_rows < 1:
        raise ValueError(f'block_rows must be >= 1, got {block_rows}')
    with _open(map_a) as dataset_a, _open(map_b) as file_b:
        dataset_b = file_b
        try:
            if align:
                from rasterio.enums import Resampling
                from rasterio.vrt import WarpedVRT
                dataset_b = WarpedVRT(
                    file_b, crs=dataset_a.crs,
                    transform=dataset_a.transform, width=dataset_a.width,
                    height=dataset_a.height,
                    resampling=Resampling.nearest)
            else:
                _check_same_grid(dataset_a, dataset_b, map_a, map_b)
            return _run(dataset_a, dataset_b, map_a, map_b, out_dir,
                        classes, palette, nodata, block_rows, preview,
                        image, preview_bands, file_b)
        finally:
            if dataset_b is not file_b:
                dataset_b.close()


def _check_same_grid(a, b, path_a: str, path_b: str) -> None:
    """:func:`~lemevit_mm.io.raster.check_same_grid` of band 1 of two
    open class maps."""
    from types import SimpleNamespace

    def grid(dataset, path: str) -> SimpleNamespace:
        return SimpleNamespace(path=path, width=dataset.width,
                               height=dataset.height, crs=dataset.crs,
                               transform=dataset.transform, count=1)

    check_same_grid(grid(a, path_a), grid(b, path_b))


def _run(dataset_a, dataset_b, map_a, map_b, out_dir, classes, palette,
         nodata, block_rows, preview, image, preview_bands, file_b
         ) -> Dict[str, Any]:
    names_a, palette_a = class_map_legend(dataset_a)
    names_b, _ = class_map_legend(file_b)
    if classes is None:
        if names_a and names_b and names_a != names_b:
            raise RasterError(
                f'{map_a} and {map_b} name different classes: '
                f'{names_a} vs {names_b}; give the classes explicitly.')
        classes = names_a or names_b
    if classes is None:
        count = _scan_classes(dataset_a, dataset_b, nodata, block_rows)
        classes = [f'class_{i}' for i in range(max(count, 1))]
    classes = list(classes)
    k = len(classes)
    if k > 255:
        raise ValueError(f'{k} classes: transition codes need at most 255 '
                         'classes (65535 codes).')
    if palette is None:
        palette = palette_a or default_palette(k)
    palette = [tuple(int(v) for v in c[:3]) for c in palette][:k]
    if len(palette) < k:
        raise ValueError(f'{len(palette)} colours for {k} classes')
    dtype, code_nodata = ('uint8', 255) if k * k <= 255 else \
        ('uint16', 65535)
    grid = RasterGrid(dataset_a.width, dataset_a.height, dataset_a.crs,
                      dataset_a.transform)
    geographic_rows = None
    pixel_m2 = row_areas_m2(grid.transform, grid.crs, np.arange(1))
    if pixel_m2 is not None and not np.allclose(
            row_areas_m2(grid.transform, grid.crs,
                         np.array([0, grid.height - 1])), pixel_m2[0]):
        geographic_rows = True
    pixels = np.zeros(k * k, np.int64)
    m2 = np.zeros(k * k) if geographic_rows else None
    codes_path = osp.join(out_dir, TRANSITIONS_TIF)
    with GeoTiffWriter(codes_path, grid, 1, dtype, nodata=code_nodata,
                       colormap=transition_colormap(palette, code_nodata),
                       tags=transition_tags(classes),
                       band_descriptions=['transition']) as writer:
        for row in range(0, dataset_a.height, block_rows):
            (labels_a, valid), (labels_b, _) = _blocks_of(
                dataset_a, dataset_b, nodata, row, block_rows)
            for labels, path in ((labels_a, map_a), (labels_b, map_b)):
                bad = valid & (labels >= k)
                if bad.any():
                    raise RasterError(
                        f'{path}: value {int(labels[bad].max())} at a '
                        f'valid pixel, but there are {k} classes '
                        f'({", ".join(classes[:5])}...); give --nodata '
                        'or the classes.')
            codes = labels_a.astype(np.int64) * k + labels_b
            block = np.full(codes.shape, code_nodata, dtype)
            block[valid] = codes[valid]
            pixels += np.bincount(codes[valid], minlength=k * k)
            if m2 is not None:
                area = row_areas_m2(grid.transform, grid.crs, row +
                                    np.arange(codes.shape[0]))
                m2 += np.bincount(codes[valid], weights=np.broadcast_to(
                    area[:, None], codes.shape)[valid], minlength=k * k)
            writer.append_rows(block[None])
    pixels = pixels.reshape(k, k)
    if m2 is not None:
        m2 = m2.reshape(k, k)
    elif pixel_m2 is not None:
        m2 = pixels * float(pixel_m2[0])
    paths = [codes_path]
    pixels_csv = osp.join(out_dir, 'transition_matrix_pixels.csv')
    _matrix_csv(pixels_csv, pixels, classes, '{:d}')
    paths.append(pixels_csv)
    if m2 is not None:
        m2_csv = osp.join(out_dir, 'transition_matrix_m2.csv')
        _matrix_csv(m2_csv, m2, classes, '{:.3f}')
        paths.append(m2_csv)
    areas_csv = osp.join(out_dir, 'class_areas.csv')
    areas = _areas_csv(areas_csv, pixels, m2, classes)
    paths.append(areas_csv)
    if preview:
        from .quicklook import quicklook_path, quicklook_transitions
        paths.append(quicklook_transitions(
            codes_path, quicklook_path(codes_path), classes, palette,
            pixels, image=image, bands=preview_bands)['path'])
    return dict(classes=classes, palette=palette, pixels=pixels, m2=m2,
                areas=areas, paths=paths)
