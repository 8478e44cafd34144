"""Per-band mean and standard deviation of rasters, for a config's data
preprocessor (``tools/analysis_tools/band_stats.py`` is its command line).

Every raster is read window by window through the package's raster reader
(any format GDAL reads, any number of bands and data type); nodata pixels
are skipped, and the sums are kept in float64 with Chan et al.'s pairwise
update, so millions of uint16 pixels lose no precision. The standard
deviation is the population one (numpy's default).

The rasters come from raster files, folders (every raster below them),
glob patterns, or a config (the images of its training set, with the band
selection of its loading transform).
"""
import glob
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..io.raster import RasterError, RasterSource, is_virtual_path

__all__ = [
    'RASTER_SUFFIXES', 'RunningBandStats', 'band_statistics',
    'find_rasters', 'list_rasters', 'config_rasters'
]

RASTER_SUFFIXES = ('.tif', '.tiff', '.png', '.jpg', '.jpeg')
# The loading transforms whose ``bands`` select what the model sees.
LOADERS = ('LoadMultiBandImageFromFile', 'LoadMultiBandImagePairFromFile')


class RunningBandStats:
    """Count, mean and sum of squared deviations per band, in float64,
    updated one block of pixels at a time (Chan et al.'s pairwise
    formula).

    Args:
        num_bands (int): Number of bands.
    """

    def __init__(self, num_bands: int) -> None:
        self.count = 0
        self.mean = np.zeros(num_bands, np.float64)
        self.m2 = np.zeros(num_bands, np.float64)

    def update(self, pixels: np.ndarray) -> None:
        """Add ``pixels``, a ``(C, n)`` array."""
        n = pixels.shape[1]
        if n == 0:
            return
        pixels = pixels.astype(np.float64)
        mean = pixels.mean(axis=1)
        m2 = ((pixels - mean[:, None])**2).sum(axis=1)
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * (n / total)
        self.m2 += m2 + delta**2 * (self.count * n / total)
        self.count = total

    @property
    def std(self) -> np.ndarray:
        """The population standard deviation per band."""
        return np.sqrt(self.m2 / max(self.count, 1))


def _windows(height: int, width: int,
             size: int) -> List[Tuple[int, int, int, int]]:
    """``(row, col, h, w)`` windows of at most ``size`` x ``size``
    covering a raster."""
    return [(row, col, min(size, height - row), min(size, width - col))
            for row in range(0, height, size)
            for col in range(0, width, size)]


def band_statistics(paths: Sequence[str],
                    bands: Optional[Sequence[int]] = None,
                    window: int = 512) -> Dict:
    """Per-band mean and std over the valid pixels of ``paths``.

    Args:
        paths (Sequence[str]): Rasters, all with the same selected bands.
        bands (Sequence[int], optional): 1-based bands. Defaults to all.
        window (int): Side of the windows read at once. Defaults to 512.

    Returns:
        dict: ``mean`` and ``std`` (float64 arrays), ``pixels`` (valid
        pixels counted), ``nodata`` (pixels skipped), ``bands`` (the
        1-based bands read) and ``files`` (how many rasters).

    Raises:
        FileNotFoundError: ``paths`` is empty.
        RasterError: A raster cannot be read, lacks a band, has another
            band count than the first one, or every pixel is nodata.
    """
    if not paths:
        raise FileNotFoundError('band_stats: no raster to read.')
    stats = None
    skipped = 0
    for path in paths:
        with RasterSource(path, bands) as source:
            if stats is None:
                stats = RunningBandStats(source.count)
                first, selected = path, source.bands
            elif source.count != len(stats.mean):
                raise RasterError(
                    f'{path}: {source.count} band(s) selected, but '
                    f'{first} has {len(stats.mean)}; every image of a '
                    'dataset needs the same bands (use --bands).')
            for win in _windows(source.height, source.width, window):
                data = source.read(win)
                valid = source.valid_mask(win)
                skipped += int(valid.size - valid.sum())
                stats.update(data[:, valid])
    if stats.count == 0:
        raise RasterError(f'band_stats: every pixel of the {len(paths)} '
                          'raster(s) is nodata.')
    return dict(mean=stats.mean, std=stats.std, pixels=stats.count,
                nodata=skipped, bands=selected, files=len(paths))


def list_rasters(folder: str,
                 suffixes: Sequence[str] = RASTER_SUFFIXES) -> List[str]:
    """The rasters below ``folder`` (recursively), sorted.

    Raises:
        FileNotFoundError: No file below ``folder`` has one of
            ``suffixes``.
    """
    suffixes = tuple(s.lower() for s in suffixes)
    found = sorted(
        osp.join(root, name) for root, _, names in os.walk(folder)
        for name in names if name.lower().endswith(suffixes))
    if not found:
        raise FileNotFoundError(
            f'No raster ({", ".join(suffixes)}) below {folder}.')
    return found


def find_rasters(sources: Iterable[str],
                 suffixes: Sequence[str] = RASTER_SUFFIXES) -> List[str]:
    """The raster files named by ``sources``, in order, each once.

    A source is a raster file (read whatever its suffix: ``.jp2``,
    ``.vrt``, ... are fine), a file of one of GDAL's virtual file systems
    (``/vsizip/...``, ``/vsicurl/...``), a folder (every file below it
    with one of ``suffixes``) or a glob pattern (``scenes/*_B*.TIF``,
    ``data/**/*.tif``; folders it matches count as folders).

    Raises:
        FileNotFoundError: A source is neither an existing file nor a
            folder, or a pattern matches nothing; the message names it.
    """
    found: List[str] = []
    for source in sources:
        if osp.isdir(source):
            found += list_rasters(source, suffixes)
        elif osp.isfile(source) or is_virtual_path(source):
            found.append(source)
        elif glob.has_magic(source):
            matches = sorted(glob.glob(source, recursive=True))
            if not matches:
                raise FileNotFoundError(
                    f'{source}: the pattern matches no file.')
            for match in matches:
                found += (list_rasters(match, suffixes)
                          if osp.isdir(match) else [match])
        else:
            raise FileNotFoundError(
                f'{source}: no such raster file or folder.')
    return list(dict.fromkeys(found))


def config_rasters(path: str, split: str = 'train_dataloader'
                   ) -> Tuple[List[str], Optional[Tuple[int, ...]], bool]:
    """The image files of a config's dataset, the band selection of its
    loading transform and whether it has two dates (change detection).

    Args:
        path (str): The config file.
        split (str): Its dataloader to read. Defaults to
            ``'train_dataloader'``.

    Returns:
        tuple: ``(paths, bands, paired)``; ``bands`` is None where the
        loader reads every band.
    """
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(path)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    if cfg.get(split) is None:
        raise KeyError(f'{path} has no {split}.')
    dataset_cfg = cfg[split].dataset
    bands = None
    for step in dataset_cfg.get('pipeline', []):
        if step.get('type') in LOADERS:
            bands = step.get('bands')
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[]))
    paths, paired = [], False
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        paths.append(info['img_path'])
        if info.get('img_path2'):
            paths.append(info['img_path2'])
            paired = True
    return paths, (tuple(bands) if bands else None), paired
