"""Quicklooks: a PNG picture of a result over its input, to look at or to
put in a report.

The input is shown as RGB (chosen bands, each stretched between its 2nd
and 98th percentile, so uint16 and N-band rasters look right too), the
result over it: a class map in the classes' colours, a change mask in
one colour, objects as polygons outlined in the colour of their class or
status. A legend names the colours and a scale bar gives metres.

Rasters are read decimated (``out_shape`` reads, which GDAL serves from
the overviews when the file has them), so a quicklook of a 12000 x 12000
scene never holds it at full resolution; the picture is at most
:data:`MAX_SIZE` pixels on its long side. Drawing uses matplotlib's
object interface on its Agg canvas (no pyplot, no global backend). The
legend's names are also stored in the PNG's text metadata (``Legend``,
a JSON list) for programs that read them (:func:`read_legend`).
"""
import json
import math
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..io.atomic import atomic_output
from .areas import pixel_size_m

__all__ = [
    'MAX_SIZE', 'STATUS_COLOURS', 'CHANGE_COLOUR', 'preview_shape',
    'rgb_bands', 'stretch', 'read_background', 'read_labels', 'render',
    'quicklook_class_map', 'quicklook_change', 'quicklook_objects',
    'quicklook_detections', 'quicklook_transitions', 'read_legend',
    'quicklook_path', 'quicklooks_of_result'
]

MAX_SIZE = 2048
# the picture's long side is at least this (small rasters are enlarged,
# so that the legend stays readable)
MIN_SIZE = 640
STATUS_COLOURS = {
    'persisted': (255, 230, 0),
    'class changed': (255, 110, 0),
    'moved': (0, 170, 255),
    'appeared': (0, 210, 70),
    'vanished': (235, 20, 20),
}
CHANGE_COLOUR = (255, 0, 80)
Colour = Sequence[int]


def quicklook_path(out: str) -> str:
    """The quicklook beside an output: ``<stem>.png``."""
    import os.path as osp
    return f'{osp.splitext(out)[0]}.png'


def preview_shape(height: int, width: int,
                  max_size: int = MAX_SIZE) -> Tuple[int, int]:
    """``(h, w)`` of a raster decimated to at most ``max_size`` pixels on
    its long side (never enlarged)."""
    scale = min(1., max_size / max(height, width, 1))
    return max(1, int(round(height * scale))), \
        max(1, int(round(width * scale)))


def _open(path: str):
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', NotGeoreferencedWarning)
        return rasterio.open(path)


def rgb_bands(dataset) -> Tuple[int, int, int]:
    """The 1-based bands a raster is best shown with as RGB: those its
    colour interpretation or band descriptions name red, green and blue
    (also Sentinel-2's B04, B03, B02), else the first three, else band 1
    as grey."""
    from rasterio.enums import ColorInterp
    interp = list(dataset.colorinterp)
    wanted = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
    if all(c in interp for c in wanted):
        return tuple(interp.index(c) + 1 for c in wanted)
    names = [(d or '').lower() for d in dataset.descriptions]
    for keys in (('red', 'green', 'blue'), ('b04', 'b03', 'b02'),
                 ('b4', 'b3', 'b2')):
        found = [next((i + 1 for i, n in enumerate(names)
                       if n == k or n.startswith(k + ' ')), None)
                 for k in keys]
        if all(found):
            return tuple(found)
    if dataset.count >= 3:
        return (1, 2, 3)
    return (1, 1, 1)


def stretch(data: np.ndarray, valid: np.ndarray,
            percentiles: Tuple[float, float] = (2., 98.)) -> np.ndarray:
    """``(h, w, C)`` values in [0, 1] of a ``(C, h, w)`` array: each band
    stretched linearly between its percentiles over the ``valid``
    pixels."""
    out = np.zeros(data.shape[1:] + (data.shape[0],), np.float32)
    for index, band in enumerate(data.astype(np.float64)):
        values = band[valid & np.isfinite(band)]
        if not values.size:
            continue
        low, high = np.percentile(values, percentiles)
        if high <= low:
            high = low + 1
        out[..., index] = np.clip((band - low) / (high - low), 0, 1)
    out[~valid] = 0
    return out


class Background(dict):
    """A decimated view of a raster: ``rgb`` ``(h, w, 3)`` float32 (or
    None), ``valid`` ``(h, w)``, and the full raster's ``width``,
    ``height``, ``transform``, ``crs``."""


def read_background(path: Optional[str], like_path: Optional[str] = None,
                    bands: Optional[Sequence[int]] = None,
                    max_size: int = MAX_SIZE) -> Background:
    """The RGB picture of ``path`` decimated to ``max_size`` (see
    :func:`rgb_bands` for the default bands); without ``path`` an empty
    background on the grid of ``like_path``."""
    from rasterio.enums import Resampling
    with _open(path or like_path) as dataset:
        shape = preview_shape(dataset.height, dataset.width, max_size)
        grid = Background(width=dataset.width, height=dataset.height,
                          transform=dataset.transform, crs=dataset.crs,
                          rgb=None, valid=np.ones(shape, bool))
        if path is None:
            return grid
        indexes = list(bands[:3]) if bands else list(rgb_bands(dataset))
        while len(indexes) < 3:
            indexes.append(indexes[-1])
        bad = [b for b in indexes if not 1 <= b <= dataset.count]
        if bad:
            raise ValueError(f'{path}: band(s) {bad} out of range for the '
                             f'quicklook (1 to {dataset.count}).')
        data = dataset.read(indexes, out_shape=(3, *shape),
                            resampling=Resampling.average)
        masks = dataset.read_masks(indexes, out_shape=(3, *shape),
                                   resampling=Resampling.nearest)
        grid['valid'] = masks.any(0)
        grid['rgb'] = stretch(data, grid['valid'])
    return grid


def read_labels(path: str, max_size: int = MAX_SIZE
                ) -> Tuple[np.ndarray, Optional[float]]:
    """Band 1 of a label raster decimated by nearest neighbour to
    ``max_size``, and its nodata value."""
    from rasterio.enums import Resampling
    with _open(path) as dataset:
        shape = preview_shape(dataset.height, dataset.width, max_size)
        return dataset.read(1, out_shape=shape,
                            resampling=Resampling.nearest), dataset.nodata


def _nice_length(span: float) -> float:
    """1, 2 or 5 times a power of ten, at most ``span``."""
    power = 10 ** math.floor(math.log10(span))
    for step in (5, 2, 1):
        if step * power <= span:
            return step * power
    return power


def _unit_label(metres: float) -> str:
    if metres >= 1000:
        return f'{metres / 1000:g} km'
    return f'{metres:g} m'


def _rgba(colour: Colour, alpha: float = 1.) -> Tuple[float, ...]:
    return tuple(c / 255 for c in colour[:3]) + (alpha,)


def _resize_nearest(array: np.ndarray, shape: Tuple[int, int]
                    ) -> np.ndarray:
    """``array`` (``(h, w, ...)``) resampled to ``shape`` by nearest
    neighbour."""
    if array.shape[:2] == tuple(shape):
        return array
    rows = (np.arange(shape[0]) + 0.5) * array.shape[0] / shape[0]
    cols = (np.arange(shape[1]) + 0.5) * array.shape[1] / shape[1]
    return array[rows.astype(np.int64)[:, None],
                 cols.astype(np.int64)[None]]


def _compose(background: Background, overlay: Optional[np.ndarray],
             shape: Tuple[int, int]) -> np.ndarray:
    """The background with the RGBA overlay on top, as ``(h, w, 3)``
    uint8 of ``shape``."""
    rgb = background.get('rgb')
    if rgb is None:
        rgb = np.full(background['valid'].shape + (3,), 0.96, np.float32)
    rgb = _resize_nearest(rgb, shape)
    if overlay is not None:
        overlay = _resize_nearest(overlay, shape)
        alpha = overlay[..., 3:]
        rgb = rgb * (1 - alpha) + overlay[..., :3] * alpha
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def render(out: str,
           background: Background,
           overlay: Optional[np.ndarray] = None,
           polygons: Sequence[np.ndarray] = (),
           polygon_colours: Sequence[Colour] = (),
           legend: Sequence[Tuple[str, Colour]] = (),
           title: Optional[str] = None,
           legend_kind: str = 'patch') -> Dict[str, Any]:
    """Draw and write the PNG ``out`` atomically.

    Args:
        out (str): The PNG file.
        background (Background): From :func:`read_background`.
        overlay (np.ndarray, optional): ``(h, w, 4)`` RGBA in [0, 1] over
            the background (any decimated size; it spans the raster).
        polygons (Sequence[np.ndarray]): ``(M, 2)`` rings in the full
            raster's pixel coordinates ``(col, row)``.
        polygon_colours (Sequence): An RGB colour (0-255) per polygon.
        legend (Sequence): ``(name, rgb colour)`` entries.
        title (str, optional): A title in the upper left corner.
        legend_kind (str): ``'patch'`` (filled squares) or ``'line'``
            (outlines, for polygons).

    Returns:
        dict: ``path``, ``size`` ``(width, height)`` of the PNG and the
        ``legend`` names.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.image import imsave
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    width, height = background['width'], background['height']
    shape = background['valid'].shape
    long_side = min(max(max(shape), MIN_SIZE), MAX_SIZE)
    scale = long_side / max(shape)
    fig_w = max(1, min(MAX_SIZE, int(round(shape[1] * scale))))
    fig_h = max(1, min(MAX_SIZE, int(round(shape[0] * scale))))
    dpi = 100
    # matplotlib draws the vector parts (polygons, legend, scale bar) on
    # a transparent figure of the picture's size, which is laid over the
    # raster picture composed in numpy (no resampling of the rasters)
    figure = Figure(figsize=(fig_w / dpi, fig_h / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    figure.patch.set_alpha(0)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    axes.patch.set_alpha(0)
    if len(polygons):
        axes.add_collection(PolyCollection(
            [np.asarray(p, np.float64) for p in polygons],
            facecolors='none', closed=True,
            edgecolors=[_rgba(c) for c in polygon_colours],
            linewidths=max(1.5, long_side / 450)))
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    font = max(7., long_side / 110)
    if legend:
        if legend_kind == 'line':
            handles = [Line2D([], [], color=_rgba(c), lw=2, label=name)
                       for name, c in legend]
        else:
            handles = [Patch(facecolor=_rgba(c), edgecolor='black',
                             linewidth=0.5, label=name)
                       for name, c in legend]
        axes.legend(handles=handles, loc='upper right', fontsize=font,
                    framealpha=0.85, ncol=1 if len(handles) <= 16 else 2)
    metres = pixel_size_m(background['transform'], background['crs'],
                          row=height / 2)
    if metres:
        length = _nice_length(width * metres / 5)
        label = _unit_label(length)
        bar = length / metres
    else:
        bar = _nice_length(width / 5)
        label = f'{bar:g} px'
    axes.add_artist(AnchoredSizeBar(
        axes.transData, bar, label, 'lower left', pad=0.6, color='black',
        frameon=True, size_vertical=max(height / 150, 1e-9),
        fontproperties=dict(size=font)))
    if title:
        axes.text(0.01, 0.99, title, transform=axes.transAxes, va='top',
                  ha='left', fontsize=font,
                  bbox=dict(facecolor='white', alpha=0.8, linewidth=0))
    canvas.draw()
    drawn = np.asarray(canvas.buffer_rgba())
    if drawn.shape[:2] != (fig_h, fig_w):  # rounding of the figure size
        drawn = _resize_nearest(drawn, (fig_h, fig_w))
    picture = _compose(background, overlay, (fig_h, fig_w))
    alpha = drawn[..., 3:].astype(np.float32) / 255
    picture = (picture * (1 - alpha) + drawn[..., :3] * alpha + 0.5) \
        .astype(np.uint8)
    names = [name for name, _ in legend]
    with atomic_output(out, make_folder=True) as tmp:
        imsave(tmp, picture, format='png', metadata={
            'Legend': json.dumps(names), 'Software': 'lemevit-mm'})
    return dict(path=out, size=(fig_w, fig_h), legend=names)


def read_legend(path: str) -> List[str]:
    """The legend names stored in a quicklook PNG."""
    from PIL import Image
    with Image.open(path) as image:
        return json.loads(image.info.get('Legend', '[]'))


def _class_overlay(labels: np.ndarray, palette: Sequence[Colour],
                   alpha: float, skip: Sequence[int] = ()) -> np.ndarray:
    table = np.zeros((max(256, len(palette), int(labels.max(initial=0)) +
                      1), 4), np.float32)
    for index, colour in enumerate(palette):
        table[index] = _rgba(colour, alpha)
    for value in skip:
        if 0 <= value < len(table):
            table[int(value)] = 0
    return table[labels.astype(np.int64)]


def quicklook_class_map(map_path: str, out: str, classes: Sequence[str],
                        palette: Sequence[Colour],
                        image: Optional[str] = None,
                        bands: Optional[Sequence[int]] = None,
                        title: Optional[str] = None) -> Dict[str, Any]:
    """A class map in the classes' colours (over ``image`` if given, half
    transparent), with every class in the legend; nodata transparent."""
    background = read_background(image, map_path, bands)
    labels, nodata = read_labels(map_path)
    skip = [int(nodata)] if nodata is not None and \
        not np.isnan(nodata) else []
    overlay = _class_overlay(labels, palette,
                             0.55 if image else 1., skip + [255])
    return render(out, background, overlay,
                  legend=list(zip(classes, palette)), title=title)


def quicklook_change(map_path: str, out: str, image: Optional[str] = None,
                     bands: Optional[Sequence[int]] = None,
                     title: Optional[str] = None) -> Dict[str, Any]:
    """A change mask (1 = changed) in :data:`CHANGE_COLOUR` over
    ``image`` (date B, say)."""
    background = read_background(image, map_path, bands)
    labels, _ = read_labels(map_path)
    overlay = np.zeros(labels.shape + (4,), np.float32)
    overlay[labels == 1] = _rgba(CHANGE_COLOUR, 0.65)
    return render(out, background, overlay,
                  legend=[('changed', CHANGE_COLOUR)], title=title)


def _status_of(record: Dict[str, Any]) -> str:
    if record['status'] == 'persisted' and record.get('class_changed'):
        return 'class changed'
    return record['status']


def quicklook_objects(image: str, records: Sequence[Dict[str, Any]],
                      out: str, bands: Optional[Sequence[int]] = None,
                      colour_by: str = 'status',
                      classes: Sequence[str] = (),
                      palette: Sequence[Colour] = (),
                      title: Optional[str] = None) -> Dict[str, Any]:
    """Object polygons (records with ``corners`` in pixels of ``image``,
    and ``status`` or ``class_b``/``class_a``) outlined over ``image``,
    coloured by status (the statuses present, in a fixed order) or by
    class."""
    background = read_background(image, None, bands)
    polygons = [np.asarray(r['corners']) for r in records]
    if colour_by == 'status':
        keys = [_status_of(r) for r in records]
        table = dict(STATUS_COLOURS)
        legend = [(k, c) for k, c in STATUS_COLOURS.items() if k in keys]
    else:
        keys = [r.get('class_b') or r.get('class_a') or r.get('class')
                for r in records]
        table = dict(zip(classes, palette))
        legend = list(zip(classes, palette))
    colours = [table.get(k, (255, 255, 0)) for k in keys]
    return render(out, background, None, polygons, colours, legend,
                  title=title, legend_kind='line')


def quicklook_detections(image: str, corners: np.ndarray,
                         labels: np.ndarray, classes: Sequence[str],
                         palette: Sequence[Colour], out: str,
                         bands: Optional[Sequence[int]] = None,
                         title: Optional[str] = None) -> Dict[str, Any]:
    """Detected boxes (``(N, 4, 2)`` pixel corners) outlined in their
    classes' colours over ``image``; every class in the legend."""
    records = [dict(corners=c, class_b=classes[int(label)]
                    if int(label) < len(classes) else str(int(label)))
               for c, label in zip(corners, labels)]
    return quicklook_objects(image, records, out, bands, 'class', classes,
                             palette, title)


def quicklook_transitions(codes_path: str, out: str,
                          classes: Sequence[str],
                          palette: Sequence[Colour],
                          counts: Optional[np.ndarray] = None,
                          image: Optional[str] = None,
                          bands: Optional[Sequence[int]] = None,
                          top: int = 10,
                          title: Optional[str] = None) -> Dict[str, Any]:
    """A transition-code raster (``from * K + to``): the ``top`` most
    frequent changes (by ``counts``, the ``(K, K)`` from-to matrix, else
    as seen in the picture) in distinct colours, other changes grey,
    unchanged pixels transparent over ``image`` (faded class colours
    without it)."""
    from matplotlib import colormaps
    k = len(classes)
    background = read_background(image, codes_path, bands)
    codes, nodata = read_labels(codes_path)
    codes = codes.astype(np.int64)
    valid = codes < k * k
    if nodata is not None and not np.isnan(nodata):
        valid &= codes != int(nodata)
    if counts is None:
        counts = np.bincount(codes[valid], minlength=k * k)[:k * k] \
            .reshape(k, k)
    counts = np.asarray(counts, np.float64)
    changed = [(int(counts[f, t]), f, t) for f in range(k) for t in
               range(k) if f != t and counts[f, t] > 0]
    changed.sort(key=lambda x: (-x[0], x[1], x[2]))
    shown = changed[:top]
    table = np.zeros((k * k + 1, 4), np.float32)
    other = (128, 128, 128)
    for f in range(k):
        for t in range(k):
            table[f * k + t] = _rgba(other, 0.8) if f != t else (
                (0, 0, 0, 0) if image else _rgba(
                    [255 - (255 - c) * 0.35 for c in palette[f]]))
    colours = colormaps['tab10' if len(shown) <= 10 else 'tab20']
    legend = []
    for index, (_, f, t) in enumerate(shown):
        rgb = tuple(int(255 * v) for v in colours(index)[:3])
        table[f * k + t] = _rgba(rgb, 0.85)
        legend.append((f'{classes[f]} \u2192 {classes[t]}', rgb))
    if len(changed) > len(shown):
        legend.append(('other changes', other))
    overlay = table[np.where(valid, codes, k * k)]
    return render(out, background, overlay, legend=legend, title=title)


def quicklooks_of_result(task: str, inputs: Sequence[str],
                         result: Dict[str, Any], classes: Sequence[str],
                         palette: Sequence[Colour],
                         bands: Optional[Sequence[int]] = None
                         ) -> List[str]:
    """The quicklook of one scene-inference output (``tools/infer.py
    --preview``): ``<output stem>.png`` beside the result's first file.

    Args:
        task (str): ``'seg'``, ``'cd'``, ``'det'`` or ``'cls'``.
        inputs (Sequence[str]): The input rasters (cd: both dates; the
            quicklook shows date B).
        result (dict): The inferencer's result (``paths``; ``boxes`` and
            ``labels`` for detection).
        classes, palette: The model's class names and colours.
        bands (Sequence[int], optional): Bands of the input shown as RGB.

    Returns:
        list[str]: The PNG written (none for a classification table).
    """
    paths = list(result.get('paths') or [])
    if not paths or not paths[0].lower().endswith(
            ('.tif', '.tiff', '.geojson', '.json')):
        return []  # a table (CSV) has no picture
    out = quicklook_path(paths[0])
    if task == 'seg' or task == 'cls':
        done = quicklook_class_map(paths[0], out, classes, palette,
                                   image=inputs[0], bands=bands)
    elif task == 'cd':
        done = quicklook_change(paths[0], out, image=inputs[-1],
                                bands=bands)
    elif task == 'det':
        from ..geometry import rbox_corners
        boxes = np.asarray(result['boxes']).reshape(-1, 5)
        corners = rbox_corners(boxes) if len(boxes) else \
            np.zeros((0, 4, 2))
        done = quicklook_detections(inputs[0], corners, result['labels'],
                                    classes, palette, out, bands=bands)
    else:
        raise ValueError(f'quicklook: unknown task {task!r}')
    return [done['path']]
