"""Preparing DIOR-R and HRSC2016 from their official downloads.

Both are read in their own layout by the checked datasets; the
converters find the parts of a download (folders or zip archives, with
the member names matched robustly, see
:mod:`lemevit_mm.datasets.source_layout`), link (or copy) them into the
layout of mmrotate's dataset configs, check every annotation (invalid
objects listed as ``file:line: reason``; the datasets skip the same
ones) and name what is missing.

DIOR-R::

    OUT/JPEGImages-trainval/*.jpg   OUT/JPEGImages-test/*.jpg
    OUT/Annotations/Oriented Bounding Boxes/*.xml
    OUT/ImageSets/Main/{train,val,test}.txt

HRSC2016::

    OUT/FullDataSet/AllImages/*.bmp   OUT/FullDataSet/Annotations/*.xml
    OUT/ImageSets/{trainval,test}.txt  (and train / val when present)
"""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

from ..datasets.source_layout import (extract_archives, files_by_stem,
                                      find_file, find_folder, place_file,
                                      write_lines)
from .class_lists import DIOR_CLASSES, HRSC_CLASSES, resolve_classes
from .dota_annotations import AnnotationProblem, no_object_message
from .xml_annotations import read_dior_file, read_hrsc_file


class ConversionReport(NamedTuple):
    """What a conversion wrote and left out."""
    images: Dict[str, int]  # per list
    objects: Dict[str, int]  # valid objects per list
    problems: List[AnnotationProblem]


def _read_ids(path: str) -> List[str]:
    with open(path, encoding='utf-8') as file:
        ids = [line.split()[0] for line in file if line.strip()]
    if not ids:
        raise ValueError(f'{path} lists no image.')
    return ids


def _check_lists(lists: Dict[str, List[str]], images: Dict[str, str],
                 annotations: Dict[str, str], reader, classes,
                 labelled: Sequence[str]) -> ConversionReport:
    problems: List[AnnotationProblem] = []
    counts, objects = {}, {}
    for name, ids in lists.items():
        missing = [i for i in ids if i not in images]
        missing_xml = [i for i in ids if i not in annotations]
        for what, absent in (('image', missing), ('annotation', missing_xml)):
            if absent:
                raise FileNotFoundError(
                    f'{len(absent)} image(s) of the {name!r} list have no '
                    f'{what} file, e.g. {absent[:3]}.')
        found = 0
        list_problems: List[AnnotationProblem] = []
        for img_id in ids:
            valid, bad, _ = reader(annotations[img_id], classes)
            found += len(valid)
            list_problems += bad
        if name in labelled and found == 0:
            raise ValueError(no_object_message(
                f'the {name!r} list', classes, list_problems))
        problems += list_problems
        counts[name], objects[name] = len(ids), found
    return ConversionReport(counts, objects, problems)


def convert_dior(source: str, out: str,
                 classes: Sequence[str] = DIOR_CLASSES,
                 copy: bool = False) -> ConversionReport:
    """Lay out a DIOR-R download (folders or the official zips) under
    ``out`` as mmrotate's DIOR config reads it, checking every object.

    Raises:
        FileNotFoundError: A part (image folders, oriented-box XML
            folder, a list) or a listed file is missing; the message
            names what was looked for.
        ValueError: A training list is left without any valid object.
    """
    roots = extract_archives(source, osp.join(out, '.extracted'))
    image_dirs = {
        part: find_folder(roots, [f'JPEGImages-{part}', f'JPEGImages{part}'],
                          f'DIOR {part} images', ('.jpg', '.jpeg'))
        for part in ('trainval', 'test')
    }
    xml_dir = find_folder(
        roots, ['Oriented Bounding Boxes', 'OrientedBoundingBoxes', 'obb'],
        'DIOR-R oriented-box annotations (Annotations/Oriented Bounding '
        'Boxes)', ('.xml', ))
    lists = {
        name: _read_ids(find_file(roots, [f'{name}.txt'],
                                  f'the official {name} list',
                                  parent=['Main', 'ImageSets']))
        for name in ('train', 'val', 'test')
    }
    images = {}
    for part, folder in image_dirs.items():
        for img_id, path in files_by_stem(folder, ('.jpg', '.jpeg')).items():
            images[img_id] = (part, path)
    annotations = files_by_stem(xml_dir, ('.xml', ))
    report = _check_lists(lists, {i: p for i, (_, p) in images.items()},
                          annotations, read_dior_file, classes,
                          labelled=('train', 'val'))
    for name, ids in lists.items():
        for img_id in ids:
            part, path = images[img_id]
            place_file(path, osp.join(out, f'JPEGImages-{part}',
                                      f'{img_id}.jpg'), copy)
            place_file(annotations[img_id],
                       osp.join(out, 'Annotations',
                                'Oriented Bounding Boxes',
                                f'{img_id}.xml'), copy)
        write_lines(osp.join(out, 'ImageSets', 'Main', f'{name}.txt'), ids)
    return report


def convert_hrsc(source: str, out: str,
                 classes: Sequence[str] = HRSC_CLASSES,
                 copy: bool = False) -> ConversionReport:
    """Lay out an HRSC2016 download (the extracted release, or zips of
    it) under ``out`` as mmrotate's HRSC config reads it.

    The release is a multi-part RAR archive; extract it first (``unrar x
    HRSC2016.part01.rar``), this tool reads folders and zips.
    """
    rar_hint = ('the release is a multi-part RAR archive, which this tool '
                'does not read; extract it first (unrar x '
                'HRSC2016.part01.rar) and pass the folder.')
    if osp.isfile(source) and source.lower().endswith('.rar'):
        raise ValueError(f'{source}: {rar_hint}')
    rars = [name for name in (os.listdir(source) if osp.isdir(source)
                              else []) if name.lower().endswith('.rar')]
    roots = extract_archives(source, osp.join(out, '.extracted'))

    def in_full_dataset(folder: str) -> bool:
        # FullDataSet/AllImages, not Train/AllImages or Test/AllImages
        return osp.basename(osp.dirname(folder)).lower() == 'fulldataset'

    try:
        image_dir = find_folder(roots, ['AllImages'], 'HRSC2016 images',
                                ('.bmp', ), accept=in_full_dataset)
        xml_dir = find_folder(roots, ['Annotations'],
                              'HRSC2016 annotations', ('.xml', ),
                              accept=in_full_dataset)
    except FileNotFoundError as error:
        if rars:
            raise FileNotFoundError(
                f'{error} {", ".join(rars)}: {rar_hint}') from None
        raise
    lists = {}
    for name in ('trainval', 'test', 'train', 'val'):
        try:
            lists[name] = _read_ids(find_file(
                roots, [f'{name}.txt'], f'the official {name} list',
                parent=['ImageSets']))
        except FileNotFoundError:
            if name in ('trainval', 'test'):
                raise
    images = files_by_stem(image_dir, ('.bmp', ))
    annotations = files_by_stem(xml_dir, ('.xml', ))
    report = _check_lists(lists, images, annotations, read_hrsc_file,
                          classes, labelled=('trainval', ))
    for name, ids in lists.items():
        for img_id in ids:
            place_file(images[img_id], osp.join(
                out, 'FullDataSet', 'AllImages', f'{img_id}.bmp'), copy)
            place_file(annotations[img_id], osp.join(
                out, 'FullDataSet', 'Annotations', f'{img_id}.xml'), copy)
        write_lines(osp.join(out, 'ImageSets', f'{name}.txt'), ids)
    return report


def converter_main(convert: Callable, default_classes: Sequence[str],
                   doc: str, summary: Callable[[str, NamedTuple,
                                                Sequence[str]], str],
                   argv=None, *, source_help: str,
                   out_help: str = 'output data root',
                   copy_help: str = 'copy the files instead of linking them',
                   classes_help: str, classes_nargs='+',
                   config_help: str = ("take the classes from this config's "
                                       'metainfo'),
                   check_classes: Optional[Callable] = None) -> None:
    """The command line of the XML converters (dior, hrsc, fair1m tools).

    ``SOURCE OUT [--copy] [--classes NAME ... | --config CONFIG]``; the
    description is the first line of the tool's ``doc``. The classes
    (``default_classes`` unless given) are checked by ``check_classes``
    (raises ``ValueError``) and passed to ``convert(source, out, classes,
    copy)``; every problem of its report is printed, then
    ``summary(out, report, classes)``. Bad input exits with
    ``error: ...``.
    """
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('source', help=source_help)
    parser.add_argument('out', help=out_help)
    parser.add_argument('--copy', action='store_true', help=copy_help)
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--classes', nargs=classes_nargs, metavar='NAME',
                       help=classes_help)
    group.add_argument('--config', help=config_help)
    args = parser.parse_args(argv)
    try:
        classes = resolve_classes(args.classes, args.config, default_classes)
        if check_classes is not None:
            check_classes(classes)
        report = convert(args.source, args.out, classes, args.copy)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    for problem in report.problems:
        print(problem)
    print(summary(args.out, report, classes))
