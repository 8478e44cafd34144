"""Vector output of rotated boxes: a GeoJSON FeatureCollection of
polygons and the DOTA text format, both written atomically.

Boxes are ``(cx, cy, w, h, angle)`` in scene pixels (angle in radians,
as mmrotate writes them). The GeoJSON polygons are in the raster's CRS
(through its transform), or in pixel coordinates for a raster without
georeference; the DOTA file is always in pixels: one line per box,
``x1 y1 x2 y2 x3 y3 x4 y4 class score``.

Imports numpy only.
"""
import json
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..geometry import rbox_corners
from .atomic import write_atomically
from .raster import pixel_to_map

__all__ = [
    'dota_path', 'class_name', 'boxes_to_geojson', 'write_geojson',
    'write_dota', 'write_rotated_boxes'
]


def dota_path(out: str) -> str:
    """Where the DOTA text file of the GeoJSON ``out`` goes:
    ``<stem>_dota.txt``."""
    return f'{osp.splitext(out)[0]}_dota.txt'


def class_name(label: int, classes: Sequence[str]) -> str:
    """The name of class id ``label``, or the id as text beyond the
    names."""
    label = int(label)
    return classes[label] if label < len(classes) else str(label)


def _crs_member(crs) -> Dict[str, Any]:
    epsg = crs.to_epsg()
    name = f'urn:ogc:def:crs:EPSG::{epsg}' if epsg else crs.to_wkt()
    return dict(type='name', properties=dict(name=name))


def boxes_to_geojson(corners: np.ndarray, scores: np.ndarray,
                     labels: np.ndarray, classes: Sequence[str],
                     like=None) -> Dict[str, Any]:
    """A FeatureCollection of boxes given by their ``(N, 4, 2)`` pixel
    corners, with ``class`` and ``score`` (5 decimals) properties.

    Args:
        corners: Pixel ``(col, row)`` corners of each box.
        scores: ``(N,)`` scores.
        labels: ``(N,)`` class ids.
        classes: Class names.
        like (optional): The raster (anything with ``crs``, ``transform``
            and ``georeferenced``); None or one without georeference
            keeps pixel coordinates (marked ``"coordinates": "pixel"``).
    """
    georeferenced = like is not None and like.georeferenced
    if georeferenced:
        corners = pixel_to_map(like.transform, corners)
    features = []
    for polygon, score, label in zip(corners, scores, labels):
        ring = [[float(x), float(y)] for x, y in polygon]
        ring.append(ring[0])
        features.append(dict(
            type='Feature',
            geometry=dict(type='Polygon', coordinates=[ring]),
            properties={'class': class_name(label, classes),
                        'score': round(float(score), 5)}))
    collection: Dict[str, Any] = dict(type='FeatureCollection',
                                      features=features)
    crs = like.crs if like is not None else None
    if crs is not None:
        collection['crs'] = _crs_member(crs)
    elif not georeferenced:
        collection['coordinates'] = 'pixel'
    return collection


def write_geojson(path: str, collection: Dict[str, Any]) -> None:
    """Write a GeoJSON object atomically."""
    def write(tmp: str) -> None:
        with open(tmp, 'w') as f:
            json.dump(collection, f)

    write_atomically(path, write)


def write_dota(path: str, corners: np.ndarray, scores: np.ndarray,
               names: Sequence[str]) -> None:
    """Write boxes in DOTA's text format (pixel corners with one decimal,
    class name, score with four) atomically."""
    def write(tmp: str) -> None:
        with open(tmp, 'w') as f:
            for polygon, score, name in zip(corners, scores, names):
                coords = ' '.join(f'{v:.1f}' for v in polygon.reshape(-1))
                f.write(f'{coords} {name} {float(score):.4f}\n')

    write_atomically(path, write)


def write_rotated_boxes(out: str, boxes: np.ndarray, scores: np.ndarray,
                        labels: np.ndarray, classes: Sequence[str],
                        like=None,
                        dota: Optional[str] = None) -> List[str]:
    """Write rotated boxes as the GeoJSON ``out`` and the DOTA text file
    ``dota`` (default :func:`dota_path`); returns both paths.

    Args:
        out: The GeoJSON file.
        boxes: ``(N, 5)`` boxes in scene pixels.
        scores, labels: ``(N,)`` each.
        classes: Class names.
        like (optional): The raster the boxes were found in (its CRS and
            transform place the polygons).
        dota (str, optional): The DOTA file.
    """
    boxes = np.asarray(boxes)
    corners = rbox_corners(boxes) if len(boxes) else np.zeros((0, 4, 2))
    dota = dota or dota_path(out)
    write_geojson(out, boxes_to_geojson(corners, scores, labels, classes,
                                        like))
    write_dota(dota, corners, scores,
               [class_name(label, classes) for label in labels])
    return [out, dota]
