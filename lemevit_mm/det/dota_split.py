"""Split DOTA images into patches with mmrotate's own split tool.

mmrotate ships ``tools/data/dota/split/img_split.py`` inside the package
(``mmrotate/.mim/``). :func:`split_dota` checks the annotation files first
(invalid lines are reported with file and line and left out), then runs
that tool once per split, giving the layout the det configs read::

    OUT/train/images/P0000__1024__0___0.png  OUT/train/annfiles/....txt
    OUT/val/...   OUT/test/images/...  (test: empty annfiles)

The classes of the annotation lines are checked against ``classes``
(DOTA-v1.0's by default; a user's own, e.g. ``('tree', )``, or those of
DOTA-v1.5 / v2.0). A labelled split left without a single valid object
is an error naming the classes its files do use, rather than an empty
dataset that fails later inside the training loop.

Multi-scale splitting (mmrotate's ``ms`` configs: ``rates`` 0.5, 1.0,
1.5 with a gap of 500) cuts windows of ``size / rate`` pixels from the
original image; the pipeline's ``Resize`` brings them to ``size``.
"""
import os
import os.path as osp
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Sequence

import mmrotate

from .class_lists import DOTA_V1_CLASSES
from .dota_annotations import (AnnotationProblem, format_object_line,
                               no_object_message, parse_annotation_lines,
                               report_problems)

IMAGE_EXTENSIONS = ('.png', '.jpg', '.tif', '.bmp')
# Mean pixel (BGR) used by mmrotate's split configs to pad border patches.
PADDING_VALUE = (104, 116, 124)


def find_split_tool() -> str:
    """Path of mmrotate's ``img_split.py``; a clear error if absent."""
    package = osp.dirname(mmrotate.__file__)
    candidates = [
        osp.join(package, '.mim', 'tools', 'data', 'dota', 'split',
                 'img_split.py'),
        osp.join(osp.dirname(package), 'tools', 'data', 'dota', 'split',
                 'img_split.py'),  # a source checkout of mmrotate
    ]
    for path in candidates:
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        'mmrotate\'s DOTA split tool was not found (looked for '
        f'{" and ".join(candidates)}); install mmrotate with its tools '
        '(pip or mim install) or from source.')


def clean_annotations(ann_dir: str, out_dir: str,
                      classes: Sequence[str] = DOTA_V1_CLASSES
                      ) -> List[AnnotationProblem]:
    """Copy the DOTA label files of ``ann_dir`` to ``out_dir`` keeping
    only valid object lines (and the ``gsd`` header).

    Args:
        ann_dir (str): Folder of ``*.txt`` DOTA label files.
        out_dir (str): Folder of the cleaned copies.
        classes (Sequence[str]): The valid class names. Defaults to the
            15 classes of DOTA-v1.0.

    Returns:
        list[AnnotationProblem]: The lines left out, with file and line.

    Raises:
        ValueError: If no file of ``ann_dir`` keeps a valid object (e.g.
            every line names a class that is not in ``classes``).
    """
    os.makedirs(out_dir, exist_ok=True)
    problems: List[AnnotationProblem] = []
    num_objects = 0
    for name in sorted(os.listdir(ann_dir)):
        if not name.endswith('.txt'):
            continue
        path = osp.join(ann_dir, name)
        with open(path, encoding='utf-8') as f:
            lines = f.readlines()
        objects, file_problems = parse_annotation_lines(lines, path, classes)
        problems += file_problems
        num_objects += len(objects)
        headers = [line.strip() for line in lines
                   if line.lstrip().startswith('gsd:')]
        with open(osp.join(out_dir, name), 'w', encoding='utf-8') as f:
            lines = headers[:1] + [format_object_line(o) for o in objects]
            f.write(''.join(line + '\n' for line in lines))
    if num_objects == 0:
        report_problems(problems)
        raise ValueError(no_object_message(ann_dir, classes, problems))
    return problems


def split_dota(data_root: str,
               out_root: str,
               splits: Sequence[str] = ('train', 'val', 'test'),
               size: int = 1024,
               gap: int = 200,
               ann_subdir: str = 'labelTxt',
               nproc: int = 4,
               classes: Sequence[str] = DOTA_V1_CLASSES,
               rates: Sequence[float] = (1.0, ),
               extra_args: Optional[Sequence[str]] = None
               ) -> Dict[str, List[AnnotationProblem]]:
    """Split the DOTA splits under ``data_root`` into patches.

    Args:
        data_root (str): Holds ``<split>/images`` and, for labelled splits,
            ``<split>/<ann_subdir>`` (DOTA-v1.0 ``labelTxt`` files).
        out_root (str): Output root; ``out_root/<split>`` must not exist.
        splits (Sequence[str]): Splits to convert. A split without an
            annotation folder (DOTA's test split) gets images only.
            Defaults to ('train', 'val', 'test').
        size (int): Patch size. Defaults to 1024.
        gap (int): Overlap of neighbouring patches. Defaults to 200.
        ann_subdir (str): Annotation folder name inside a split.
            Defaults to 'labelTxt'.
        nproc (int): Worker processes of the split tool. Defaults to 4.
        classes (Sequence[str]): The valid class names; lines of other
            classes are reported and skipped. Defaults to DOTA-v1.0's.
        rates (Sequence[float]): Scales of the split: windows of
            ``size / rate`` and ``gap / rate`` pixels. Defaults to (1.0, ),
            single scale; mmrotate's multi-scale configs use
            (0.5, 1.0, 1.5) with gap 500.
        extra_args (Sequence[str], optional): More arguments for
            ``img_split.py`` (e.g. ``['--iof-thr', '0.7']``).

    Returns:
        dict: The annotation lines left out, per split.
    """
    if not 0 <= gap < size:
        raise ValueError(f'need 0 <= gap < size, got size={size}, gap={gap}')
    if not rates or any(rate <= 0 for rate in rates):
        raise ValueError(f'rates must be positive, got {list(rates)}')
    tool = find_split_tool()
    problems: Dict[str, List[AnnotationProblem]] = {}
    for split in splits:
        img_dir = osp.join(data_root, split, 'images')
        ann_dir = osp.join(data_root, split, ann_subdir)
        save_dir = osp.join(out_root, split)
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'DOTA image folder not found: {img_dir}')
        if not any(n.endswith(IMAGE_EXTENSIONS) for n in os.listdir(img_dir)):
            raise FileNotFoundError(f'No image in {img_dir}')
        if osp.exists(save_dir):
            raise FileExistsError(f'{save_dir} exists already; remove it or '
                                  'choose another output root.')
        os.makedirs(out_root, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            command = [
                sys.executable, tool, '--img-dirs', img_dir,
                '--sizes', str(size), '--gaps', str(gap),
                '--rates', *map(str, rates),
                '--img-rate-thr', '0.6', '--iof-thr', '0.7',
                '--padding-value', *map(str, PADDING_VALUE),
                '--save-dir', save_dir, '--save-ext', '.png',
                '--nproc', str(nproc)
            ]
            if osp.isdir(ann_dir):
                clean_dir = osp.join(tmp, 'labelTxt')
                problems[split] = clean_annotations(ann_dir, clean_dir,
                                                    classes)
                report_problems(problems[split])
                command += ['--ann-dirs', clean_dir]
            else:
                problems[split] = []
            command += list(extra_args or [])
            done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f'mmrotate split tool failed on {split!r} ({" ".join(command)}'
                f'):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}')
    return problems
