"""Preparing WHU-CD, S2Looking and LEVIR-CD+ from their downloads.

Each download holds, per split, a folder of date-A images, one of
date-B images and one of binary change labels (0 / 255), with the member
names below (matched regardless of case and separators, at any depth,
in folders or zips). The converters link (or copy) them into the layout
the configs read, check every pair (both dates and the label present,
the same size, a single-channel label of 0/255 or 0/1) and list a bad
pair as ``file: reason`` and leave it out.

- WHU-CD, as cut into 256x256 tiles by BIT (Chen et al. 2021) with its
  split lists, the version change-detection papers report:
  ``A/``, ``B/``, ``label/`` and ``list/{train,val,test}.txt`` ->
  ``OUT/{A,B,label}/`` and ``OUT/list/{train,val,test}.txt`` (names
  without suffix, as mmseg's ``ann_file`` reads them).
- S2Looking (Shen et al. 2021): ``{train,val,test}/{Image1,Image2,
  label}/`` 1024x1024 -> the same under ``OUT/``.
- LEVIR-CD+ (Shen et al. 2021): ``{train,test}/{A,B,label}/``
  1024x1024 (no val split) -> the same under ``OUT/``.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, NamedTuple, Sequence, Tuple

import numpy as np
from PIL import Image

from ..datasets.source_layout import (extract_archives, files_by_stem,
                                      find_file, find_folder, normalise,
                                      place_file, write_lines)


class CDLayout(NamedTuple):
    """Folder names of one change-detection download."""
    name: str
    splits: Tuple[str, ...]  # '' = all splits in one folder + lists
    date_a: str
    date_b: str
    label: str


LAYOUTS: Dict[str, CDLayout] = {
    'whu-cd': CDLayout('WHU-CD', ('', ), 'A', 'B', 'label'),
    's2looking': CDLayout('S2Looking', ('train', 'val', 'test'), 'Image1',
                          'Image2', 'label'),
    'levir-cd-plus': CDLayout('LEVIR-CD+', ('train', 'test'), 'A', 'B',
                              'label'),
}
WHU_LISTS = ('train', 'val', 'test')


class CDConversionReport(NamedTuple):
    pairs: Dict[str, int]
    problems: List[str]


def check_pair(path_a: str, path_b: str, label_path: str) -> str:
    """Why a pair is invalid, or ''."""
    with Image.open(path_a) as a, Image.open(path_b) as b, \
            Image.open(label_path) as label:
        if a.size != b.size:
            return (f'date A {path_a} is {a.size[0]}x{a.size[1]}, date B '
                    f'{b.size[0]}x{b.size[1]}')
        if label.size != a.size:
            return (f'label is {label.size[0]}x{label.size[1]}, the images '
                    f'{a.size[0]}x{a.size[1]}')
        values = np.asarray(label)
    if values.ndim == 3:
        if not (values == values[..., :1]).all():
            return 'label has colour channels that differ (not binary)'
        values = values[..., 0]
    found = np.unique(values)
    if not (set(found.tolist()) <= {0, 255} or
            set(found.tolist()) <= {0, 1}):
        return (f'label values {found.tolist()[:8]} are not binary '
                '(0/255 or 0/1)')
    return ''


def _inside(split: str):
    def accept(folder: str) -> bool:
        return not split or normalise(osp.basename(
            osp.dirname(folder))) == normalise(split)
    return accept


def convert_cd(dataset: str, source: str, out: str,
               copy: bool = False) -> CDConversionReport:
    """Lay out a download of ``dataset`` (a key of :data:`LAYOUTS`)."""
    layout = LAYOUTS[dataset]
    roots = extract_archives(source, osp.join(out, '.extracted'))
    problems: List[str] = []
    pairs: Dict[str, int] = {}
    for split in layout.splits:
        where = f'{layout.name} {split or "tiles"}'
        folders = [find_folder(roots, [name], f'{where} {what}',
                               accept=_inside(split))
                   for name, what in ((layout.date_a, 'date-A images'),
                                      (layout.date_b, 'date-B images'),
                                      (layout.label, 'change labels'))]
        files_a, files_b, labels = (files_by_stem(f) for f in folders)
        kept = []
        for stem, path_a in files_a.items():
            path_b, label = files_b.get(stem), labels.get(stem)
            reason = ('no date-B image' if path_b is None else
                      'no change label' if label is None else
                      check_pair(path_a, path_b, label))
            if reason:
                problems.append(f'{path_a}: {reason}')
                continue
            kept.append(stem)
            for src, folder in ((path_a, layout.date_a),
                                (path_b, layout.date_b),
                                (label, layout.label)):
                place_file(src, osp.join(out, split, folder,
                                         osp.basename(src)), copy)
        for stem in sorted(set(files_b) - set(files_a)):
            problems.append(f'{files_b[stem]}: no date-A image')
        if not kept:
            raise ValueError(f'{where}: no valid image pair.')
        pairs[split or 'all'] = len(kept)
        if not split:  # WHU-CD: the official split lists
            for name in WHU_LISTS:
                listed = [osp.splitext(n)[0] for n in _read_list(find_file(
                    roots, [f'{name}.txt'], f'the {layout.name} {name} list',
                    parent=['list', 'lists']))]
                problems += [f'{name}.txt: {n}: not a valid pair, left out'
                             for n in listed if n not in kept]
                # file names without suffix, as mmseg's ann_file reads them
                valid = [n for n in listed if n in kept]
                write_lines(osp.join(out, 'list', f'{name}.txt'), valid)
                pairs[name] = len(valid)
    return CDConversionReport(pairs, problems)


def _read_list(path: str) -> Sequence[str]:
    with open(path, encoding='utf-8') as file:
        return [line.split()[0] for line in file if line.strip()]


def converter_main(dataset: str, doc: str, argv=None) -> None:
    """The command line of ``tools/dataset_converters/<dataset>.py``.

    ``SOURCE OUT [--copy]``; the description is the first line of the
    tool's ``doc``. Lays out the download with :func:`convert_cd`, prints
    every problem and a summary; a bad download exits with ``error: ...``.
    """
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('source', help='the download (folder or zip)')
    parser.add_argument('out', help='output data root')
    parser.add_argument('--copy', action='store_true',
                        help='copy the files instead of linking them')
    args = parser.parse_args(argv)
    try:
        report = convert_cd(dataset, args.source, args.out, args.copy)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    for problem in report.problems:
        print(problem)
    counts = ', '.join(f'{k} {v}' for k, v in report.pairs.items())
    print(f'{LAYOUTS[dataset].name} -> {args.out}: {counts} pairs; '
          f'{len(report.problems)} problem(s).')
