"""Scene classification benchmarks: UC Merced, AID, NWPU-RESISC45.

Each is a folder per class in its download (``UCMerced_LandUse/Images/
<class>/*.tif``, ``AID/<Class>/*.jpg``, ``NWPU-RESISC45/<class>/*.jpg``,
or the zip of it) with no official split: the field draws a share of
every class for training (UC Merced 80%, AID 20% or 50%, NWPU-RESISC45
10% or 20%) and tests on the rest. :func:`convert_scene_dataset` draws
that split with a seed, reproducibly (the same seed gives the same
files on any machine: the files are sorted by name before the draw, and
each class is drawn by its own generator), and writes::

    OUT/images/<class>/<file>          (symlinks, or copies)
    OUT/meta/classes.txt               class names, label order
    OUT/meta/train_<pct>.txt  OUT/meta/test_<pct>.txt
                                       "<class>/<file> <label>"

(``train_<pct>_seed<k>.txt`` for a seed other than 0), the annotation
lists of mmpretrain's ``CustomDataset``.
"""
import hashlib
import os
import os.path as osp
import random
from typing import Dict, List, NamedTuple, Sequence, Tuple

from ..datasets.source_layout import (extract_archives, normalise,
                                      place_file, write_lines)

UCMERCED_CLASSES = (
    'agricultural', 'airplane', 'baseballdiamond', 'beach', 'buildings',
    'chaparral', 'denseresidential', 'forest', 'freeway', 'golfcourse',
    'harbor', 'intersection', 'mediumresidential', 'mobilehomepark',
    'overpass', 'parkinglot', 'river', 'runway', 'sparseresidential',
    'storagetanks', 'tenniscourt')
AID_CLASSES = (
    'Airport', 'BareLand', 'BaseballField', 'Beach', 'Bridge', 'Center',
    'Church', 'Commercial', 'DenseResidential', 'Desert', 'Farmland',
    'Forest', 'Industrial', 'Meadow', 'MediumResidential', 'Mountain',
    'Park', 'Parking', 'Playground', 'Pond', 'Port', 'RailwayStation',
    'Resort', 'River', 'School', 'SparseResidential', 'Square', 'Stadium',
    'StorageTanks', 'Viaduct')
NWPU_RESISC45_CLASSES = (
    'airplane', 'airport', 'baseball_diamond', 'basketball_court', 'beach',
    'bridge', 'chaparral', 'church', 'circular_farmland', 'cloud',
    'commercial_area', 'dense_residential', 'desert', 'forest', 'freeway',
    'golf_course', 'ground_track_field', 'harbor', 'industrial_area',
    'intersection', 'island', 'lake', 'meadow', 'medium_residential',
    'mobile_home_park', 'mountain', 'overpass', 'palace', 'parking_lot',
    'railway', 'railway_station', 'rectangular_farmland', 'river',
    'roundabout', 'runway', 'sea_ice', 'ship', 'snowberg',
    'sparse_residential', 'stadium', 'storage_tank', 'tennis_court',
    'terrace', 'thermal_power_station', 'wetland')


class SceneBenchmark(NamedTuple):
    """What a scene-classification download holds."""
    name: str
    classes: Tuple[str, ...]
    images_per_class: int
    extensions: Tuple[str, ...]
    train_ratios: Tuple[float, ...]  # the standard ones, first = default


BENCHMARKS: Dict[str, SceneBenchmark] = {
    'ucmerced': SceneBenchmark('UC Merced', UCMERCED_CLASSES, 100,
                               ('.tif', '.tiff'), (0.8, )),
    'aid': SceneBenchmark('AID', AID_CLASSES, 0, ('.jpg', ), (0.5, 0.2)),
    'nwpu-resisc45': SceneBenchmark('NWPU-RESISC45', NWPU_RESISC45_CLASSES,
                                    700, ('.jpg', ), (0.2, 0.1)),
}


class SceneSplit(NamedTuple):
    """A drawn split: ``{class: [image paths]}`` for train and test."""
    classes: Tuple[str, ...]
    train: Dict[str, List[str]]
    test: Dict[str, List[str]]


def find_class_folders(source: str, staging: str,
                       benchmark: SceneBenchmark) -> Dict[str, List[str]]:
    """``{class: [image paths]}`` of a download (folders or zips). The
    class folders are matched by normalised name (``Baseball_Field`` is
    ``BaseballField``) at any depth.

    Raises:
        FileNotFoundError: Naming the classes that have no folder with
            images, and the folders found.
    """
    roots = extract_archives(source, staging)
    wanted = {normalise(name): name for name in benchmark.classes}
    images: Dict[str, List[str]] = {}
    seen = []
    for root in roots:
        for folder, dirs, files in os.walk(root, followlinks=True):
            dirs.sort()
            pictures = sorted(f for f in files
                              if f.lower().endswith(benchmark.extensions))
            if not pictures:
                continue
            seen.append(folder)
            name = wanted.get(normalise(osp.basename(folder)))
            if name is None:
                continue
            if name in images:
                raise ValueError(
                    f'class {name!r} has two folders: '
                    f'{osp.dirname(images[name][0])} and {folder}.')
            images[name] = [osp.join(folder, f) for f in pictures]
    missing = [name for name in benchmark.classes if name not in images]
    if missing:
        found = ', '.join(sorted({osp.basename(f) for f in seen})[:10])
        raise FileNotFoundError(
            f'{benchmark.name}: {len(missing)} of the '
            f'{len(benchmark.classes)} classes have no folder of '
            f'{"/".join(benchmark.extensions)} images under {source}: '
            f'{", ".join(missing[:8])}{" ..." if len(missing) > 8 else ""}'
            f' (folders with images found: {found or "none"}).')
    return images


def class_rng(seed: int, name: str) -> random.Random:
    """The generator of one class's draw: depends on the seed and the
    class name only, not on the other classes or the platform."""
    digest = hashlib.sha256(f'{seed}:{name}'.encode()).hexdigest()
    return random.Random(int(digest[:16], 16))


def draw_split(images: Dict[str, List[str]], classes: Sequence[str],
               train_ratio: float, seed: int = 0) -> SceneSplit:
    """Draw ``round(train_ratio * n)`` training images of every class
    (at least one, and at least one left for testing)."""
    if not 0 < train_ratio < 1:
        raise ValueError(f'train ratio must be in (0, 1), got {train_ratio}')
    train, test = {}, {}
    for name in classes:
        paths = sorted(images[name], key=osp.basename)
        if len(paths) < 2:
            raise ValueError(f'class {name!r} has {len(paths)} image(s); '
                             'a split needs at least 2.')
        count = min(max(round(train_ratio * len(paths)), 1), len(paths) - 1)
        chosen = set(class_rng(seed, name).sample(range(len(paths)), count))
        train[name] = [p for i, p in enumerate(paths) if i in chosen]
        test[name] = [p for i, p in enumerate(paths) if i not in chosen]
    return SceneSplit(tuple(classes), train, test)


def split_file_names(train_ratio: float, seed: int = 0) -> Tuple[str, str]:
    """``('meta/train_50.txt', 'meta/test_50.txt')`` for 50% and seed 0;
    ``..._50_seed3.txt`` for seed 3."""
    tag = f'{round(train_ratio * 100)}'
    if seed:
        tag += f'_seed{seed}'
    return f'meta/train_{tag}.txt', f'meta/test_{tag}.txt'


def convert_scene_dataset(dataset: str, source: str, out: str,
                          train_ratios: Sequence[float] = (),
                          seed: int = 0,
                          copy: bool = False) -> Dict[str, object]:
    """Lay out a scene-classification download under ``out`` and write
    the seeded split lists of every ratio (the standard ones if none).

    Returns:
        dict: ``classes``, ``images`` (count) and ``splits``
        (``{ratio: (train file, test file, n_train, n_test)}``).
    """
    if dataset not in BENCHMARKS:
        raise ValueError(f'unknown dataset {dataset!r}; one of '
                         f'{sorted(BENCHMARKS)}')
    benchmark = BENCHMARKS[dataset]
    images = find_class_folders(source, osp.join(out, '.extracted'),
                                benchmark)
    counts = {name: len(paths) for name, paths in images.items()}
    if benchmark.images_per_class and any(
            n != benchmark.images_per_class for n in counts.values()):
        odd = {k: v for k, v in counts.items()
               if v != benchmark.images_per_class}
        print(f'note: {benchmark.name} has {benchmark.images_per_class} '
              f'images per class; these classes differ: {odd}')
    classes = benchmark.classes
    relative = {}
    for name in classes:
        for path in images[name]:
            target = f'{name}/{osp.basename(path)}'
            place_file(path, osp.join(out, 'images', target), copy)
            relative[path] = target
    write_lines(osp.join(out, 'meta', 'classes.txt'), classes)
    splits = {}
    for ratio in train_ratios or benchmark.train_ratios:
        split = draw_split(images, classes, ratio, seed)
        names = split_file_names(ratio, seed)
        for part, name in zip((split.train, split.test), names):
            write_lines(osp.join(out, name), [
                f'{relative[path]} {label}'
                for label, cls in enumerate(classes) for path in part[cls]
            ])
        splits[ratio] = (*names, sum(map(len, split.train.values())),
                         sum(map(len, split.test.values())))
    return dict(classes=classes, images=sum(counts.values()), splits=splits)
