"""STAC metadata of inference outputs, built with rio-stac and pystac.

One STAC Item per scene (``<stem>.stac.json`` beside its outputs): the
footprint in WGS84 as geometry and bbox, the ``proj`` extension with the
output's CRS, grid and transform, one asset per output file with its role
and media type, the class names and colours of a class map in the
``classification`` extension, and the provenance (software, config,
checkpoint hash, the input scenes as ``derived_from`` links). A STAC
Collection (``collection.json``) lists the Items of a run.

The time of an Item is the acquisition time of its input when the input
says it (``TIFFTAG_DATETIME``; the two dates of a change pair give a
start and an end), else the time it was processed.
"""
import datetime
import json
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence

from .atomic import write_text

__all__ = ['ITEM_SUFFIX', 'item_path', 'scene_item', 'write_item',
           'write_collection']

ITEM_SUFFIX = '.stac.json'
COG_MEDIA_TYPE = 'image/tiff; application=geotiff; profile=cloud-optimized'
GEOTIFF_MEDIA_TYPE = 'image/tiff; application=geotiff'
TASK_NAMES = dict(seg='semantic segmentation', cd='change detection',
                  det='oriented object detection',
                  cls='scene classification')
PROCESSING_EXTENSION = \
    'https://stac-extensions.github.io/processing/v1.2.0/schema.json'


def _require_stac():
    try:
        import pystac
        from rio_stac.stac import create_stac_item
    except ImportError:
        raise ImportError(
            'STAC metadata (--stac) needs pystac and rio-stac, which are '
            'not installed: `pip install pystac rio-stac`.') from None
    return pystac, create_stac_item


def item_path(main_output: str) -> str:
    """Where the Item of a scene goes: ``<stem>.stac.json`` beside its
    main output."""
    return osp.splitext(main_output)[0] + ITEM_SUFFIX


def _acquired(path: str) -> Optional[datetime.datetime]:
    """The ``TIFFTAG_DATETIME`` of a raster (``YYYY:MM:DD HH:MM:SS``), in
    UTC, or None."""
    try:
        import rasterio
        with rasterio.open(path) as f:
            text = f.tags().get('TIFFTAG_DATETIME')
    except Exception:  # no header to read: no acquisition time
        return None
    if not text:
        return None
    for layout in ('%Y:%m:%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S',
                   '%Y-%m-%d %H:%M:%S', '%Y-%m-%d'):
        try:
            return datetime.datetime.strptime(text.strip(), layout).replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            continue
    return None


def _is_raster(path: str) -> bool:
    return path.lower().endswith(('.tif', '.tiff', '.vrt'))


def _asset_key(path: str, main: str, task: str) -> str:
    if path == main:
        return dict(cd='change', det='detections').get(task, 'classes')
    name = osp.basename(path)
    if '_probs' in name:
        return 'probabilities'
    if name.endswith('_dota.txt'):
        return 'dota'
    return osp.splitext(name)[0]


def _media_type(path: str, cog: bool) -> str:
    lower = path.lower()
    if lower.endswith(('.tif', '.tiff')):
        return COG_MEDIA_TYPE if cog else GEOTIFF_MEDIA_TYPE
    if lower.endswith('.geojson'):
        return 'application/geo+json'
    if lower.endswith('.json'):
        return 'application/json'
    if lower.endswith('.csv'):
        return 'text/csv'
    return 'text/plain'


def _class_table(path: str) -> List[Dict[str, Any]]:
    """``classification:classes`` of a class map: values, names (from
    its ``classes`` tag) and colours (its colour table)."""
    import rasterio
    with rasterio.open(path) as f:
        names = [n for n in f.tags().get('classes', '').split(',') if n]
        try:
            colormap = f.colormap(1)
        except ValueError:
            colormap = {}
        nodata = f.nodata
    classes = []
    for value, name in enumerate(names):
        entry: Dict[str, Any] = dict(
            value=value, name=re.sub(r'[^0-9A-Za-z_-]+', '_', name),
            description=name)
        if value in colormap:
            entry['color_hint'] = '{:02X}{:02X}{:02X}'.format(
                *colormap[value][:3])
        classes.append(entry)
    if nodata is not None and float(nodata).is_integer():
        classes.append(dict(value=int(nodata), name='nodata',
                            description='no data', nodata=True))
    return classes


def scene_item(outputs: Sequence[str], inputs: Sequence[str],
               task: str = 'seg', cog: bool = False,
               provenance: Optional[Dict[str, Any]] = None,
               collection: Optional[str] = None) -> Dict[str, Any]:
    """The STAC Item (as a dict) of one scene's outputs.

    Args:
        outputs (Sequence[str]): The scene's files, the main one first
            (a raster, or a GeoJSON for rotated detection).
        inputs (Sequence[str]): The input raster(s) (one date, or two).
        task (str): ``'seg'``, ``'cd'``, ``'det'`` or ``'cls'``.
        cog (bool): The rasters are Cloud Optimized GeoTIFFs.
        provenance (dict, optional): ``versions``, ``config``,
            ``checkpoint``, ``checkpoint_sha256`` of the run.
        collection (str, optional): The id of the run's Collection.
    """
    pystac, create_stac_item = _require_stac()
    main = outputs[0]
    footprint = main if _is_raster(main) else inputs[0]
    item_file = item_path(main)
    folder = osp.dirname(osp.abspath(item_file))
    times = [_acquired(p) for p in inputs]
    now = datetime.datetime.now(datetime.timezone.utc)
    properties: Dict[str, Any] = {}
    when = times[0] or now
    if len(times) == 2 and all(times):
        properties.update(start_datetime=min(times).isoformat(),
                          end_datetime=max(times).isoformat())
    provenance = provenance or {}
    versions = provenance.get('versions') or {}
    what = TASK_NAMES.get(task, task)
    names = ', '.join(osp.basename(p) for p in inputs)
    properties.update({
        'created': now.isoformat(),
        'processing:software': {
            name: str(version) for name, version in versions.items()
            if version},
        'processing:lineage': f'{what} of {names} by lemevit-mm',
    })
    for key in ('config', 'checkpoint', 'checkpoint_sha256'):
        if provenance.get(key):
            properties[f'lemevit:{key}'] = osp.basename(
                str(provenance[key])) if key != 'checkpoint_sha256' else \
                provenance[key]
    item = create_stac_item(
        footprint, input_datetime=when,
        id=osp.splitext(osp.basename(main))[0], properties=properties,
        with_proj=True, asset_name='_footprint',
        asset_href=osp.basename(footprint), collection=collection)
    item.assets.pop('_footprint', None)
    if len(times) == 2 and all(times):
        item.datetime = None
    item.stac_extensions.append(PROCESSING_EXTENSION)
    classes = []
    for path in outputs:
        key = _asset_key(path, main, task)
        roles = ['data'] if key != 'dota' else ['metadata']
        asset = pystac.Asset(
            href=osp.relpath(osp.abspath(path), folder),
            media_type=_media_type(path, cog), roles=roles,
            title=osp.basename(path))
        if path == main and _is_raster(path) and task in ('seg', 'cd',
                                                          'cls'):
            classes = _class_table(path)
            if classes:
                asset.extra_fields['classification:classes'] = classes
        item.add_asset(key, asset)
    if classes:
        from pystac.extensions.classification import \
            ClassificationExtension
        schema = ClassificationExtension.get_schema_uri()
        if schema not in item.stac_extensions:
            item.stac_extensions.append(schema)
    for path in inputs:
        item.add_link(pystac.Link(
            'derived_from', path if '://' in path else
            (path if path.startswith('/vsi') else osp.abspath(path)),
            media_type=_media_type(path, False),
            title=osp.basename(path)))
    if collection:
        item.add_link(pystac.Link('collection', 'collection.json',
                                  media_type='application/json'))
    return item.to_dict(include_self_link=False, transform_hrefs=False)


def write_item(outputs: Sequence[str], inputs: Sequence[str],
               **kwargs) -> str:
    """Write :func:`scene_item` to :func:`item_path` (atomically); return
    the file's path."""
    path = item_path(outputs[0])
    write_text(path, json.dumps(scene_item(outputs, inputs, **kwargs),
                                indent=1) + '\n')
    return path


def write_collection(item_files: Sequence[str], out: str, id: str,
                     description: str,
                     provenance: Optional[Dict[str, Any]] = None) -> str:
    """Write the STAC Collection ``out`` of the Items ``item_files`` (its
    extent is the union of theirs); return ``out``."""
    pystac, _ = _require_stac()
    items = []
    for path in item_files:
        with open(path, encoding='utf-8') as f:
            items.append(json.load(f))
    if not items:
        raise ValueError(f'{out}: no STAC Item to collect.')
    boxes = [item['bbox'] for item in items]
    bbox = [min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)]
    times = []
    for item in items:
        props = item['properties']
        for key in ('datetime', 'start_datetime', 'end_datetime'):
            if props.get(key):
                times.append(datetime.datetime.fromisoformat(
                    props[key].replace('Z', '+00:00')))
    collection = pystac.Collection(
        id=id, description=description,
        extent=pystac.Extent(
            pystac.SpatialExtent([bbox]),
            pystac.TemporalExtent([[min(times), max(times)]])),
        license='other')
    if provenance:
        versions = provenance.get('versions') or {}
        collection.extra_fields['lemevit:provenance'] = dict(
            config=provenance.get('config'),
            checkpoint_sha256=provenance.get('checkpoint_sha256'),
            versions=versions)
    folder = osp.dirname(osp.abspath(out))
    for path in item_files:
        collection.add_link(pystac.Link(
            'item', osp.relpath(osp.abspath(path), folder),
            media_type='application/geo+json'))
    write_text(out, json.dumps(collection.to_dict(
        include_self_link=False, transform_hrefs=False), indent=1) + '\n')
    return out
