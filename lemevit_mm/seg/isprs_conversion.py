"""Converting the ISPRS archives (Potsdam, Vaihingen) to mmseg's layout:
the library of ``tools/dataset_converters/{potsdam,vaihingen}.py``.

mmseg ships converters for both datasets; they read every tile with
OpenCV, so they keep 3 bands at most. Labels and 3-band images (RGB,
IRRG) are therefore converted by mmseg's own scripts, run on a chosen set
of archives; the multi-band images (4_Ortho_RGBIR, optionally stacked with
the 1_DSM_normalisation heights) are cropped here, through the project's
raster reader, at exactly the crop boxes that mmseg's converter gave the
label maps (read back from their file names), and written as N-band
TIFFs beside them.
"""
import glob
import importlib.util
import os
import os.path as osp
import re
import sys
import tempfile
import zipfile
from collections import defaultdict
from types import ModuleType
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..io.raster import GeoTiffWriter, RasterError, RasterGrid, RasterSource

# The Potsdam label archives (eroded: the boundary-free labels).
POTSDAM_LABEL_ARCHIVES = {'eroded': '5_Labels_all_noBoundary.zip',
                          'all': '5_Labels_all.zip'}
# The Potsdam image archives of each band choice; the first is converted
# by mmseg's converter when it is alone, else all are cropped here.
POTSDAM_BAND_ARCHIVES = {
    'rgb': ('2_Ortho_RGB.zip', ),
    'irrg': ('3_Ortho_IRRG.zip', ),
    'rgbir': ('4_Ortho_RGBIR.zip', ),
    'rgbir-dsm': ('4_Ortho_RGBIR.zip', '1_DSM_normalisation.zip'),
}
# Band choices written as TIFF crops here (more than 3 bands).
MULTIBAND = ('rgbir', 'rgbir-dsm')
VAIHINGEN_ARCHIVES = ('ISPRS_semantic_labeling_Vaihingen.zip',
                      'ISPRS_semantic_labeling_Vaihingen_ground_truth_'
                      'eroded_COMPLETE.zip')
# Tile names in the archives: 'top_potsdam_2_10_RGBIR.tif',
# 'dsm_potsdam_02_10_normalized_lastools.jpg'.
TILE_PATTERNS = {
    '4_Ortho_RGBIR': re.compile(r'top_potsdam_(\d+)_(\d+)_RGBIR\.tif$'),
    '1_DSM_normalisation': re.compile(
        r'dsm_potsdam_(\d+)_(\d+)_normalized_lastools\.(jpg|tif)$'),
}
# Crops written by mmseg's Potsdam converter: '<row>_<col>_x0_y0_x1_y1'.
CROP_NAME = re.compile(r'^(\d+)_(\d+)_(\d+)_(\d+)_(\d+)_(\d+)\.png$')


def load_mmseg_converter(dataset: str) -> ModuleType:
    """Import the converter ``tools/dataset_converters/<dataset>.py`` that
    ships with mmsegmentation."""
    import mmseg
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools',
                    'dataset_converters', f'{dataset}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'mmsegmentation\'s {dataset} converter is not at {path}; is '
            'mmsegmentation installed from its wheel (pip install '
            'mmsegmentation)?')
    spec = importlib.util.spec_from_file_location(
        f'mmseg_{dataset}_converter', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_mmseg_converter(dataset: str, archives: Sequence[str],
                        out_dir: str, clip_size: int = 512,
                        stride_size: int = 256,
                        tmp_dir: Optional[str] = None) -> None:
    """Run mmseg's converter of ``dataset`` on ``archives`` only (linked
    into a temporary folder: it converts every archive it finds)."""
    converter = load_mmseg_converter(dataset)
    with tempfile.TemporaryDirectory(dir=tmp_dir) as selected:
        for archive in archives:
            os.symlink(osp.abspath(archive),
                       osp.join(selected, osp.basename(archive)))
        argv = [selected, '-o', out_dir, '--clip_size', str(clip_size),
                '--stride_size', str(stride_size)]
        if tmp_dir:
            argv += ['--tmp_dir', tmp_dir]
        saved_argv = sys.argv
        sys.argv = [f'{dataset}.py', *argv]
        try:
            # The Vaihingen script's functions read a global `args`, which
            # it sets only when run as a script.
            converter.args = converter.parse_args()
            converter.main()
        finally:
            sys.argv = saved_argv


def archive_tiles(archive: str) -> Dict[str, str]:
    """``{'2_10': member name}`` of the tiles of a Potsdam image archive
    (a key of :data:`TILE_PATTERNS` as file name)."""
    kind = osp.splitext(osp.basename(archive))[0]
    pattern = TILE_PATTERNS[kind]
    tiles = {}
    with zipfile.ZipFile(archive) as content:
        for member in content.namelist():
            found = pattern.search(member)
            if found:
                tiles[f'{int(found[1])}_{int(found[2])}'] = member
    if not tiles:
        raise FileNotFoundError(
            f'{archive}: no tile named like {pattern.pattern!r} inside.')
    return tiles


def label_crops(out_dir: str) -> Dict[str, List[tuple]]:
    """``{'2_10': [(split, stem, x0, y0, x1, y1), ...]}`` of the label
    crops mmseg's Potsdam converter wrote to ``out_dir/ann_dir``."""
    crops = defaultdict(list)
    for path in glob.glob(osp.join(out_dir, 'ann_dir', '*', '*.png')):
        found = CROP_NAME.match(osp.basename(path))
        if found:
            row, col, *box = map(int, found.groups())
            crops[f'{row}_{col}'].append(
                (osp.basename(osp.dirname(path)),
                 osp.basename(path)[:-4], *box))
    return crops


def write_crop(path: str, crop: np.ndarray) -> None:
    """Write a ``(C, h, w)`` crop as a plain TIFF (no georeference, as
    mmseg's converter writes its crops), its bands as grey levels."""
    with GeoTiffWriter(path, RasterGrid(crop.shape[2], crop.shape[1]),
                       crop.shape[0], crop.dtype.name,
                       photometric='MINISBLACK') as writer:
        writer.write(np.ascontiguousarray(crop), 0, 0)


def crop_multiband_tiles(archives: Sequence[str], out_dir: str,
                         tmp_dir: Optional[str] = None) -> int:
    """Crop the tiles of the image ``archives`` (their bands stacked in
    the order given, e.g. RGBIR then DSM) at the label crops of
    ``out_dir`` into ``img_dir/<split>/<crop>.tif``.

    Returns:
        int: The number of crops written.
    """
    crops = label_crops(out_dir)
    if not crops:
        raise FileNotFoundError(
            f'No label crops in {out_dir}/ann_dir: convert the labels '
            'first.')
    tiles = [archive_tiles(archive) for archive in archives]
    missing = [(archive, tile) for archive, members in zip(archives, tiles)
               for tile in sorted(crops) if tile not in members]
    if missing:
        archive, tile = missing[0]
        raise FileNotFoundError(
            f'{archive} has no image of tile {tile}, which has labels '
            f'({len(missing)} tile(s) missing in all).')
    written = 0
    for tile in sorted(crops):
        with tempfile.TemporaryDirectory(dir=tmp_dir) as unpacked:
            paths = []
            for archive, members in zip(archives, tiles):
                with zipfile.ZipFile(archive) as content:
                    paths.append(content.extract(members[tile], unpacked))
            sources = [RasterSource(path) for path in paths]
            try:
                shape = (sources[0].height, sources[0].width)
                for source in sources[1:]:
                    if (source.height, source.width) != shape:
                        raise RasterError(
                            f'Tile {tile}: {source.path} is '
                            f'{source.width}x{source.height} but '
                            f'{sources[0].path} is {shape[1]}x{shape[0]}.')
                for split, stem, x0, y0, x1, y1 in crops[tile]:
                    window = (y0, x0, y1 - y0, x1 - x0)
                    crop = np.concatenate(
                        [source.read(window) for source in sources])
                    write_crop(
                        osp.join(out_dir, 'img_dir', split, stem + '.tif'),
                        crop)
                    written += 1
            finally:
                for source in sources:
                    source.close()
    return written


def _zip_files(folder: str) -> List[str]:
    return sorted(map(osp.basename, glob.glob(osp.join(folder, '*.zip'))))


def choose_potsdam_archives(dataset_path: str, labels: str = 'auto',
                            bands: str = 'rgb') -> List[str]:
    """The Potsdam image archives of ``bands`` and one label archive
    (``labels``: ``'eroded'``, ``'all'`` or ``'auto'``, the only one
    present) found in ``dataset_path``."""
    if not osp.isdir(dataset_path):
        raise FileNotFoundError(f'{dataset_path} is not a folder.')
    images = [osp.join(dataset_path, name)
              for name in POTSDAM_BAND_ARCHIVES[bands]]
    for image in images:
        if not osp.isfile(image):
            found = _zip_files(dataset_path)
            raise FileNotFoundError(
                f'{image} not found (archives there: {found or "none"}); '
                f'download {osp.basename(image)} from the ISPRS Potsdam '
                'benchmark.')
    present = {kind: osp.join(dataset_path, name)
               for kind, name in POTSDAM_LABEL_ARCHIVES.items()
               if osp.isfile(osp.join(dataset_path, name))}
    if labels == 'auto':
        names = POTSDAM_LABEL_ARCHIVES.values()
        if not present:
            raise FileNotFoundError(
                f'No label archive ({" or ".join(names)}) in '
                f'{dataset_path}.')
        if len(present) > 1:
            raise FileNotFoundError(
                f'Both {" and ".join(names)} are in {dataset_path}; '
                'choose one with --labels eroded|all.')
        labels = next(iter(present))
    if labels not in present:
        raise FileNotFoundError(
            f'{osp.join(dataset_path, POTSDAM_LABEL_ARCHIVES[labels])} not '
            'found.')
    return [*images, present[labels]]


def convert_potsdam(dataset_path: str, out_dir: str, labels: str = 'auto',
                    clip_size: int = 512, stride_size: int = 256,
                    tmp_dir: Optional[str] = None,
                    bands: str = 'rgb') -> Dict[str, tuple]:
    """Convert the Potsdam archives of ``bands`` and the labels: mmseg's
    Potsdam converter for the labels and 3-band images, the multi-band
    TIFF crops at the label crops' boxes.

    Returns:
        dict: ``{split: (images, label maps)}`` written to ``out_dir``.
    """
    *images, label_archive = choose_potsdam_archives(dataset_path, labels,
                                                     bands)
    if bands in MULTIBAND:
        run_mmseg_converter('potsdam', [label_archive], out_dir, clip_size,
                            stride_size, tmp_dir)
        crop_multiband_tiles(images, out_dir, tmp_dir)
    else:
        run_mmseg_converter('potsdam', [*images, label_archive], out_dir,
                            clip_size, stride_size, tmp_dir)
    suffix = '.tif' if bands in MULTIBAND else '.png'
    return {split: (len(glob.glob(osp.join(out_dir, 'img_dir', split,
                                           '*' + suffix))),
                    len(glob.glob(osp.join(out_dir, 'ann_dir', split,
                                           '*.png'))))
            for split in ('train', 'val')}


def choose_vaihingen_archives(dataset_path: str) -> List[str]:
    """The two Vaihingen archives in ``dataset_path``."""
    paths = [osp.join(dataset_path, name) for name in VAIHINGEN_ARCHIVES]
    for path in paths:
        if not osp.isfile(path):
            found = _zip_files(dataset_path)
            raise FileNotFoundError(
                f'{path} not found (archives there: {found or "none"}).')
    return paths


def convert_vaihingen(dataset_path: str, out_dir: str,
                      clip_size: int = 512, stride_size: int = 256,
                      tmp_dir: Optional[str] = None) -> Dict[str, int]:
    """Convert the two Vaihingen archives with mmseg's converter.

    Returns:
        dict: ``{split: images}`` written to ``out_dir``.
    """
    run_mmseg_converter('vaihingen', choose_vaihingen_archives(dataset_path),
                        out_dir, clip_size, stride_size, tmp_dir)
    return {split: len(glob.glob(osp.join(out_dir, 'img_dir', split,
                                          '*.png')))
            for split in ('train', 'val')}
