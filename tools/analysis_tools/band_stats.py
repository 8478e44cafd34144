"""Per-band mean and standard deviation of a dataset, for its config.

Reads every raster window by window through the project's raster reader
(any format GDAL reads, any number of bands and data type), skips nodata
pixels, accumulates in float64 (Chan's pairwise update, so millions of
uint16 pixels lose no precision) and prints the lines to paste into the
config's data preprocessor::

    python tools/analysis_tools/band_stats.py \
        data/potsdam_rgbir/img_dir/train
    python tools/analysis_tools/band_stats.py \
        configs/seg/lemevit_t_upernet_potsdam-rgbir.py
    # -> mean=[...]
    #    std=[...]

With a folder, every raster below it (``--suffix``, default ``.tif``,
``.tiff``, ``.png``, ``.jpg``) counts. With a config, the images of its
training set (``--split``) count, with the band selection of its loading
transform (``LoadMultiBandImageFromFile(bands=...)``); for change detection
both dates count, and the data preprocessor takes the values once per
date (``mean=[...] * 2``). ``--bands 1 2 3 4`` (1-based) overrides the
selection. The standard deviation is the population one (numpy's
default).
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)  # run from a checkout without installing, too

from lemevit_mm.raster import RasterError, RasterSource  # noqa: E402

RASTER_SUFFIXES = ('.tif', '.tiff', '.png', '.jpg', '.jpeg')
LOADERS = ('LoadMultiBandImageFromFile', 'LoadMultiBandImagePairFromFile')


class RunningBandStats:
    """Count, mean and sum of squared deviations per band, in float64,
    updated one block of pixels at a time (Chan et al.'s pairwise
    formula)."""

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
        return np.sqrt(self.m2 / max(self.count, 1))


def windows(height: int, width: int,
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
        pixels counted), ``nodata`` (pixels skipped), ``bands`` and
        ``files``.
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
            for win in windows(source.height, source.width, window):
                data = source.read(win)
                valid = source.valid_mask(win)
                skipped += int(valid.size - valid.sum())
                stats.update(data[:, valid])
    if stats.count == 0:
        raise RasterError(f'band_stats: every pixel of the {len(paths)} '
                          'raster(s) is nodata.')
    return dict(mean=stats.mean, std=stats.std, pixels=stats.count,
                nodata=skipped, bands=selected, files=len(paths))


def list_rasters(folder: str, suffixes: Sequence[str]) -> List[str]:
    """The rasters below ``folder``, sorted."""
    suffixes = tuple(s.lower() for s in suffixes)
    found = sorted(
        osp.join(root, name) for root, _, names in os.walk(folder)
        for name in names if name.lower().endswith(suffixes))
    if not found:
        raise FileNotFoundError(
            f'No raster ({", ".join(suffixes)}) below {folder}.')
    return found


def config_rasters(path: str, split: str
                   ) -> Tuple[List[str], Optional[Tuple[int, ...]], bool]:
    """The image files of a config's dataset, the band selection of its
    loading transform and whether it has two dates."""
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


def format_values(values: np.ndarray) -> str:
    return '[' + ', '.join(f'{v:.4f}' for v in values) + ']'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Per-band mean/std of a folder of rasters or of a '
        "config's training images, for its data preprocessor.")
    parser.add_argument('source', help='a folder of rasters or a config')
    parser.add_argument('--bands', type=int, nargs='+',
                        help='1-based bands (default: the config\'s '
                        'selection, else all)')
    parser.add_argument('--split', default='train_dataloader',
                        help='dataloader of the config (default: '
                        'train_dataloader)')
    parser.add_argument('--suffix', nargs='+', default=RASTER_SUFFIXES,
                        help='file suffixes of a folder\'s rasters')
    parser.add_argument('--window', type=int, default=512,
                        help='window side read at once (default: 512)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    paired = False
    if osp.isdir(args.source):
        paths, bands = list_rasters(args.source, args.suffix), None
    elif osp.isfile(args.source) and args.source.endswith('.py'):
        paths, bands, paired = config_rasters(args.source, args.split)
    else:
        raise FileNotFoundError(
            f'{args.source} is neither a folder nor a config (.py) file.')
    if args.bands:
        bands = tuple(args.bands)
    try:
        result = band_statistics(paths, bands, args.window)
    except RasterError as error:
        sys.exit(f'band_stats: {error}')
    print(f"{result['files']} file(s), {result['pixels']} valid pixels "
          f"({result['nodata']} nodata skipped), bands "
          f"{list(result['bands'])}"
          + (', both dates of each pair' if paired else '') + ':')
    times = ' * 2' if paired else ''
    print(f"mean={format_values(result['mean'])}{times}")
    print(f"std={format_values(result['std'])}{times}")
    return result


if __name__ == '__main__':
    main()
