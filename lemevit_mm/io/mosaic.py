"""A GDAL VRT mosaic over many rasters of one CRS, like ``gdalbuildvrt``.

The VRT is a small XML file that GDAL (QGIS, rasterio, ...) opens as one
raster: its extent is the union of the inputs' extents, its pixel size the
finest of theirs, and each input is placed where its georeference says.
Pixels no input covers, and the nodata pixels of an input, are nodata of
the mosaic (where rasters overlap, the later one in the list wins, as in
``gdalbuildvrt``).

Written here rather than by calling ``gdalbuildvrt``, which rasterio does
not wrap and which is not always installed with it.
"""
import math
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape, quoteattr

from .atomic import write_text

__all__ = ['MosaicError', 'build_vrt', 'group_by_crs', 'write_mosaics']

# rasterio / numpy dtype names -> GDAL's
GDAL_TYPES = dict(uint8='Byte', int8='Int8', uint16='UInt16', int16='Int16',
                  uint32='UInt32', int32='Int32', uint64='UInt64',
                  int64='Int64', float16='Float16', float32='Float32',
                  float64='Float64')


class MosaicError(ValueError):
    """Rasters that cannot form one mosaic; the message says why."""


class _Raster:
    """What the VRT needs of one input, read from its header."""

    def __init__(self, path: str) -> None:
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            with rasterio.open(path) as f:
                self.path = path
                self.width, self.height, self.count = f.width, f.height, \
                    f.count
                self.dtypes = f.dtypes
                self.crs = f.crs
                self.transform = f.transform
                self.nodata = f.nodata
                self.block = f.block_shapes[0]
                self.descriptions = f.descriptions
                self.colorinterp = [c.name for c in f.colorinterp]
                try:
                    self.colormap = f.colormap(1)
                except ValueError:  # no colour table
                    self.colormap = None
        a, b, c, d, e, f_ = tuple(self.transform)[:6]
        if b != 0 or d != 0 or e >= 0:
            raise MosaicError(f'{path}: not a north-up grid (transform '
                              f'{tuple(self.transform)[:6]}).')
        if self.crs is None:
            raise MosaicError(f'{path}: no CRS, cannot place it.')
        self.res = (a, -e)
        self.bounds = (c, f_ + e * self.height, c + a * self.width, f_)


def group_by_crs(paths: Sequence[str]) -> Dict[str, List[str]]:
    """The rasters of ``paths`` by CRS (``'EPSG:32633'``, or the WKT when
    there is no EPSG code), each group in the order given."""
    groups: Dict[str, List[str]] = {}
    for path in paths:
        raster = _Raster(path)
        epsg = raster.crs.to_epsg()
        key = f'EPSG:{epsg}' if epsg else raster.crs.to_wkt()
        groups.setdefault(key, []).append(path)
    return groups


def _number(value: float) -> str:
    return repr(float(value))


def build_vrt(paths: Sequence[str], out: str,
              resolution: Optional[Tuple[float, float]] = None) -> str:
    """Write a VRT mosaic of ``paths`` (one CRS, one band layout) to
    ``out``, atomically; sources are referenced relative to the VRT.

    Args:
        paths (Sequence[str]): The rasters, all of one CRS, band count and
            data type.
        out (str): The ``.vrt`` file.
        resolution (tuple, optional): Pixel size ``(x, y)`` of the mosaic
            (default: the finest of the inputs).

    Returns:
        str: ``out``.

    Raises:
        MosaicError: No input, or inputs of different CRSs, bands or
            types, or without a north-up georeference.
    """
    if not paths:
        raise MosaicError(f'{out}: no raster to mosaic.')
    rasters = [_Raster(p) for p in paths]
    first = rasters[0]
    for raster in rasters[1:]:
        problems = []
        if raster.crs != first.crs:
            problems.append(f'CRS {raster.crs} vs {first.crs}')
        if raster.count != first.count or raster.dtypes != first.dtypes:
            problems.append(f'bands {raster.count} x {raster.dtypes[0]} vs '
                            f'{first.count} x {first.dtypes[0]}')
        if problems:
            raise MosaicError(f'{raster.path} does not fit the mosaic of '
                              f'{first.path}: {"; ".join(problems)}.')
    res_x, res_y = resolution or (min(r.res[0] for r in rasters),
                                  min(r.res[1] for r in rasters))
    west = min(r.bounds[0] for r in rasters)
    south = min(r.bounds[1] for r in rasters)
    east = max(r.bounds[2] for r in rasters)
    north = max(r.bounds[3] for r in rasters)
    width = max(1, int(math.ceil((east - west) / res_x - 1e-6)))
    height = max(1, int(math.ceil((north - south) / res_y - 1e-6)))
    folder = osp.dirname(osp.abspath(out))
    lines = [
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">',
        f'  <SRS dataAxisToSRSAxisMapping="1,2">'
        f'{escape(first.crs.to_wkt())}</SRS>',
        f'  <GeoTransform>{_number(west)}, {_number(res_x)}, 0.0, '
        f'{_number(north)}, 0.0, {_number(-res_y)}</GeoTransform>'
    ]
    for band in range(1, first.count + 1):
        dtype = GDAL_TYPES.get(first.dtypes[band - 1])
        if dtype is None:
            raise MosaicError(f'{first.path}: data type '
                              f'{first.dtypes[band - 1]} not supported.')
        lines.append(f'  <VRTRasterBand dataType="{dtype}" band="{band}">')
        if first.nodata is not None:
            lines.append(f'    <NoDataValue>{_nodata(first.nodata)}'
                         '</NoDataValue>')
        description = first.descriptions[band - 1]
        if description:
            lines.append(f'    <Description>{escape(description)}'
                         '</Description>')
        if band == 1 and first.colormap:
            lines.append('    <ColorInterp>Palette</ColorInterp>')
            lines.append('    <ColorTable>')
            for index in range(max(first.colormap) + 1):
                c = tuple(first.colormap.get(index, (0, 0, 0, 0))) + (255, )
                lines.append(f'      <Entry c1="{c[0]}" c2="{c[1]}" '
                             f'c3="{c[2]}" c4="{c[3]}"/>')
            lines.append('    </ColorTable>')
        for raster in rasters:
            lines += _source(raster, band, folder, west, north, res_x,
                             res_y)
        lines.append('  </VRTRasterBand>')
    lines.append('</VRTDataset>')
    write_text(out, '\n'.join(lines) + '\n')
    return out


def _nodata(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return 'nan'
    return repr(value) if not float(value).is_integer() else \
        str(int(value))


def _source(raster: _Raster, band: int, folder: str, west: float,
            north: float, res_x: float, res_y: float) -> List[str]:
    """The ``ComplexSource`` placing band ``band`` of ``raster``."""
    path = osp.abspath(raster.path)
    relative = osp.relpath(path, folder)
    name, relative_flag = (relative, 1) if not relative.startswith('..') \
        else (path, 0)
    x_off = (raster.bounds[0] - west) / res_x
    y_off = (north - raster.bounds[3]) / res_y
    x_size = raster.width * raster.res[0] / res_x
    y_size = raster.height * raster.res[1] / res_y
    block_y, block_x = raster.block
    dtype = GDAL_TYPES[raster.dtypes[band - 1]]
    lines = [
        '    <ComplexSource>',
        f'      <SourceFilename relativeToVRT="{relative_flag}">'
        f'{escape(name)}</SourceFilename>',
        f'      <SourceBand>{band}</SourceBand>',
        f'      <SourceProperties RasterXSize="{raster.width}" '
        f'RasterYSize="{raster.height}" DataType={quoteattr(dtype)} '
        f'BlockXSize="{block_x}" BlockYSize="{block_y}"/>',
        f'      <SrcRect xOff="0" yOff="0" xSize="{raster.width}" '
        f'ySize="{raster.height}"/>',
        f'      <DstRect xOff="{_number(x_off)}" yOff="{_number(y_off)}" '
        f'xSize="{_number(x_size)}" ySize="{_number(y_size)}"/>'
    ]
    if raster.nodata is not None:
        lines.append(f'      <NODATA>{_nodata(raster.nodata)}</NODATA>')
    lines.append('    </ComplexSource>')
    return lines


def write_mosaics(paths: Sequence[str], out_dir: str,
                  stem: str = 'mosaic') -> List[str]:
    """One VRT per CRS of ``paths`` in ``out_dir``: ``<stem>.vrt`` when
    they share one CRS, else ``<stem>_<EPSG code>.vrt`` per CRS (the WKT's
    position in the list when it has no code)."""
    groups = group_by_crs(paths)
    written = []
    for number, (crs, group) in enumerate(groups.items()):
        if len(groups) == 1:
            name = f'{stem}.vrt'
        else:
            tag = crs.split(':')[1] if crs.startswith('EPSG:') else \
                f'crs{number}'
            name = f'{stem}_{tag}.vrt'
        written.append(build_vrt(group, osp.join(out_dir, name)))
    return written
