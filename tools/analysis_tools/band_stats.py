"""Per-band mean and standard deviation of rasters, for a config.

Prints the lines to paste into the config's data preprocessor::

    # one scene, a glob, folders, or several of them
    python tools/analysis_tools/band_stats.py LC09_scene.tif
    python tools/analysis_tools/band_stats.py 'scenes/*.tif' more/scene.jp2
    python tools/analysis_tools/band_stats.py data/potsdam_rgbir/img_dir/train
    # the training images of a config, with its loader's band selection
    python tools/analysis_tools/band_stats.py \\
        configs/seg/lemevit_t_upernet_potsdam-rgbir.py
    # -> mean=[...]
    #    std=[...]

A raster file is read whatever its suffix; below a folder (also one a glob
matches), the files with a ``--suffix`` (default ``.tif``, ``.tiff``,
``.png``, ``.jpg``, ``.jpeg``) count. With a config (a ``.py`` file,
given alone), the images of its training set (``--split``) count, with
the band selection of its loading transform
(``LoadMultiBandImageFromFile(bands=...)``); for change detection both
dates count, and the data preprocessor takes the values once per date
(``mean=[...] * 2``). ``--bands 1 2 3 4`` (1-based) overrides the
selection. Nodata pixels are skipped; the standard deviation is the
population one. The statistics are
:func:`lemevit_mm.analysis.band_stats.band_statistics`.
"""
import argparse
import sys
from typing import Dict, List, Optional

import numpy as np

from lemevit_mm.analysis.band_stats import (RASTER_SUFFIXES,
                                            band_statistics, config_rasters,
                                            find_rasters)
from lemevit_mm.io.raster import RasterError

__all__ = ['band_statistics', 'main']


def format_values(values: np.ndarray) -> str:
    return '[' + ', '.join(f'{v:.4f}' for v in values) + ']'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Per-band mean/std of rasters (files, folders, globs) '
        "or of a config's training images, for its data preprocessor.")
    parser.add_argument(
        'sources', nargs='+', metavar='SOURCE',
        help='a raster file, a folder of rasters, a glob pattern (quote '
        'it), several of these, or one config (.py)')
    parser.add_argument('--bands', type=int, nargs='+',
                        help="1-based bands (default: the config's "
                        'selection, else all)')
    parser.add_argument('--split', default='train_dataloader',
                        help='dataloader of the config (default: '
                        'train_dataloader)')
    parser.add_argument('--suffix', nargs='+', default=RASTER_SUFFIXES,
                        help="file suffixes of a folder's rasters")
    parser.add_argument('--window', type=int, default=512,
                        help='window side read at once (default: 512)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    configs = [s for s in args.sources if s.endswith('.py')]
    paired, bands = False, None
    if configs:
        if len(args.sources) > 1:
            sys.exit(f'band_stats: a config ({configs[0]}) is read alone, '
                     'not with other sources.')
        paths, bands, paired = config_rasters(configs[0], args.split)
    else:
        paths = find_rasters(args.sources, args.suffix)
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
    try:
        main()
    except (FileNotFoundError, KeyError) as error:
        sys.exit(f'band_stats: {error}')
