"""Class lists of the detection benchmarks, and the user's own.

A dataset's classes come, in this order, from

1. ``--classes`` on a converter's command line: names, or a text file
   with one name per line (:func:`read_class_list`);
2. a config's ``metainfo`` (:func:`classes_from_config`): a top-level
   ``metainfo = dict(classes=...)`` or that of the training dataset
   (the first dataset of a ``ConcatDataset``), else the classes of that
   dataset's type (``CheckedDOTAv2Dataset``: DOTA-v2.0's);
3. the benchmark's own list below.

Pure Python (a config's dataset type is looked up in mmrotate's
registry only when the config names no classes).
"""
import os.path as osp
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

# The 15 classes of DOTA-v1.0, in mmrotate's order.
DOTA_V1_CLASSES = (
    'plane', 'baseball-diamond', 'bridge', 'ground-track-field',
    'small-vehicle', 'large-vehicle', 'ship', 'tennis-court',
    'basketball-court', 'storage-tank', 'soccer-ball-field', 'roundabout',
    'harbor', 'swimming-pool', 'helicopter')
DOTA_V15_CLASSES = DOTA_V1_CLASSES + ('container-crane', )
DOTA_V2_CLASSES = DOTA_V15_CLASSES + ('airport', 'helipad')

# DIOR / DIOR-R (Li et al. 2020; Cheng et al. 2022), lower case as
# mmrotate's DIORDataset names them (the XML files mix cases, e.g.
# 'Expressway-Service-area').
DIOR_CLASSES = (
    'airplane', 'airport', 'baseballfield', 'basketballcourt', 'bridge',
    'chimney', 'expressway-service-area', 'expressway-toll-station', 'dam',
    'golffield', 'groundtrackfield', 'harbor', 'overpass', 'ship', 'stadium',
    'storagetank', 'tenniscourt', 'trainstation', 'vehicle', 'windmill')

# HRSC2016 at its "level 1" (every object a ship), as the field reports
# its mAP.
HRSC_CLASSES = ('ship', )

# FAIR1M-1.0 and 2.0 (Sun et al. 2022): 37 fine-grained classes in 5
# groups, spelled as in the XML files.
FAIR1M_CLASSES = (
    # airplanes
    'Boeing737', 'Boeing747', 'Boeing777', 'Boeing787', 'C919', 'A220',
    'A321', 'A330', 'A350', 'ARJ21', 'other-airplane',
    # ships
    'Passenger Ship', 'Motorboat', 'Fishing Boat', 'Tugboat',
    'Engineering Ship', 'Liquid Cargo Ship', 'Dry Cargo Ship', 'Warship',
    'other-ship',
    # vehicles
    'Small Car', 'Bus', 'Cargo Truck', 'Dump Truck', 'Van', 'Trailer',
    'Tractor', 'Excavator', 'Truck Tractor', 'other-vehicle',
    # courts
    'Basketball Court', 'Tennis Court', 'Football Field', 'Baseball Field',
    # roads
    'Intersection', 'Roundabout', 'Bridge')

# The FAIR1M names as DOTA text writes them (one token: spaces become
# underscores), the classes of the converted and split data.
FAIR1M_TEXT_CLASSES = tuple(name.replace(' ', '_')
                            for name in FAIR1M_CLASSES)

BENCHMARK_CLASSES: Dict[str, Tuple[str, ...]] = {
    'dota1.0': DOTA_V1_CLASSES,
    'dota1.5': DOTA_V15_CLASSES,
    'dota2.0': DOTA_V2_CLASSES,
    'dior': DIOR_CLASSES,
    'hrsc': HRSC_CLASSES,
    'fair1m': FAIR1M_TEXT_CLASSES,
}


def check_class_list(classes: Iterable[str], source: str) -> Tuple[str, ...]:
    """``classes`` as a tuple; a ``ValueError`` naming ``source`` if it is
    empty or holds a duplicate or blank name."""
    names = tuple(str(name).strip() for name in classes)
    if not names:
        raise ValueError(f'{source}: the class list is empty.')
    if any(not name for name in names):
        raise ValueError(f'{source}: blank class name in {list(names)}.')
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f'{source}: duplicate class name(s) {duplicates}.')
    return names


def read_class_list(values: Sequence[str]) -> Tuple[str, ...]:
    """The classes given on a command line: names (``tree`` or
    ``tree,shrub`` or ``tree shrub``), or one existing text file holding a
    name per line (blank lines and ``#`` comments skipped; a name may hold
    spaces, as FAIR1M's do)."""
    if len(values) == 1 and osp.isfile(values[0]):
        with open(values[0], encoding='utf-8') as file:
            names = [line.strip() for line in file]
        return check_class_list(
            [n for n in names if n and not n.startswith('#')], values[0])
    names = [name for value in values for name in value.split(',')]
    return check_class_list([n for n in names if n.strip()], '--classes')


def _metainfo_classes(node: Any) -> Optional[Tuple[str, ...]]:
    """``classes`` of ``node['metainfo']``, of a dataset config ``node``
    or of the first dataset of a wrapper (``ConcatDataset``,
    ``RepeatDataset``...)."""
    if not isinstance(node, dict):
        return None
    metainfo = node.get('metainfo')
    if isinstance(metainfo, dict) and metainfo.get('classes'):
        return tuple(metainfo['classes'])
    if isinstance(node.get('dataset'), dict):
        return _metainfo_classes(node['dataset'])
    datasets = node.get('datasets')
    if isinstance(datasets, (list, tuple)) and datasets:
        return _metainfo_classes(datasets[0])
    return None


def classes_from_config(config: Any) -> Optional[Tuple[str, ...]]:
    """The class list of a config (a path or an mmengine ``Config``): its
    top-level ``metainfo``, else its training dataset's ``metainfo``;
    ``None`` if it sets none (the dataset type's own list applies)."""
    if isinstance(config, str):
        from mmengine.config import Config
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        source, config = config, Config.fromfile(config)
    else:
        source = getattr(config, 'filename', None) or 'the config'
    found = _metainfo_classes(dict(metainfo=config.get('metainfo')))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if found:
            break
        loader = config.get(key)
        if isinstance(loader, dict):
            found = _metainfo_classes(loader.get('dataset'))
    if not found:
        found = _dataset_type_classes(config)
    return check_class_list(found, source) if found else None


def _dataset_type_classes(config: Any) -> Optional[Tuple[str, ...]]:
    """The ``METAINFO`` classes of the training dataset's type (e.g.
    ``CheckedDOTAv2Dataset``), looked up in mmrotate's registry."""
    node = (config.get('train_dataloader') or {}).get('dataset')
    while isinstance(node, dict) and 'type' in node and (
            'datasets' in node or 'dataset' in node):
        node = node['datasets'][0] if 'datasets' in node else node['dataset']
    if not isinstance(node, dict) or not isinstance(node.get('type'), str):
        return None
    try:
        # registers the checked datasets
        from . import datasets, fair1m, xml_datasets  # noqa: F401
        from mmrotate.registry import DATASETS
        dataset_class = DATASETS.get(node['type'])
    except (ImportError, KeyError):
        return None
    metainfo = getattr(dataset_class, 'METAINFO', None) or {}
    classes = metainfo.get('classes')
    return tuple(classes) if classes else None


def resolve_classes(classes: Optional[Sequence[str]] = None,
                    config: Optional[str] = None,
                    default: Sequence[str] = DOTA_V1_CLASSES
                    ) -> Tuple[str, ...]:
    """The class list of a converter run: ``--classes`` if given, else the
    config's ``metainfo``, else ``default``."""
    if classes:
        if config:
            raise ValueError('give --classes or --config, not both.')
        return read_class_list(classes)
    if config:
        found = classes_from_config(config)
        if found:
            return found
    return check_class_list(default, 'default classes')


def describe_classes(classes: Sequence[str], limit: int = 6) -> str:
    """``'3 classes (a, b, c)'``, shortened after ``limit`` names."""
    shown = ', '.join(classes[:limit])
    more = ', ...' if len(classes) > limit else ''
    return f'{len(classes)} classes ({shown}{more})'
