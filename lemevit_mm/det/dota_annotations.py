"""Reading and checking DOTA ``labelTxt`` annotation files.

A DOTA object line is ``x1 y1 x2 y2 x3 y3 x4 y4 class difficulty``: the
four corners of the object polygon, a class name and a difficulty flag
(0 or 1; the split tool writes 2 for objects cut by a patch border).
Original DOTA files may start with ``imagesource:...`` and ``gsd:...``
header lines. Every other line must be a valid object; an invalid one is
reported with its file and line number and left out, so that it can
neither crash training later nor reach the metric.
"""
import ast
import math
import os.path as osp
import re
from typing import (Dict, Iterable, List, NamedTuple, Optional, Sequence,
                    Tuple)

from mmengine.logging import print_log

from .class_lists import DOTA_V1_CLASSES, describe_classes

HEADER_PREFIXES = ('imagesource:', 'gsd:')
# The reason given for a line of an unknown class (the name is a repr).
UNKNOWN_CLASS = re.compile(r"unknown class ('[^']*'|\"[^\"]*\") ")

# Polygons with a smaller area (in square pixels) count as degenerate.
MIN_POLYGON_AREA = 1e-2


class DOTAObject(NamedTuple):
    """One valid object of a DOTA annotation file."""
    polygon: List[float]
    class_name: str
    difficulty: int


class AnnotationProblem(NamedTuple):
    """An annotation line that was left out, and why."""
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f'{self.file}:{self.line}: {self.reason}'


def polygon_area(polygon: Sequence[float]) -> float:
    """Area of a polygon given as ``[x1, y1, x2, y2, ...]`` (shoelace)."""
    xs, ys = polygon[0::2], polygon[1::2]
    twice = sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i]
                for i in range(len(xs)))
    return abs(twice) / 2


def parse_object_line(line: str,
                      classes: Sequence[str] = DOTA_V1_CLASSES
                      ) -> Tuple[Optional[DOTAObject], Optional[str]]:
    """Parse one object line of a DOTA annotation file.

    Args:
        line (str): The line, without or with its newline.
        classes (Sequence[str]): The valid class names. Defaults to the
            15 classes of DOTA-v1.0.

    Returns:
        tuple: ``(DOTAObject, None)`` for a valid line, ``(None, reason)``
        for an invalid one.
    """
    items = line.split()
    if len(items) < 9:
        return None, (f'expected 8 coordinates, a class name and a '
                      f'difficulty, got {len(items)} fields: {line.strip()!r}')
    coords, class_name, extra = items[:8], items[8], items[9:]
    try:
        polygon = [float(v) for v in coords]
    except ValueError:
        return None, (f'expected 8 numeric coordinates before the class '
                      f'name, got {" ".join(coords)!r}')
    if not all(math.isfinite(v) for v in polygon):
        return None, f'non-finite coordinate in {" ".join(coords)!r}'
    if class_name not in classes:
        return None, (f'unknown class {class_name!r} (not one of the '
                      f'{describe_classes(classes)}; give the classes of '
                      'your data with --classes or the config\'s metainfo)')
    if len(extra) > 1:
        return None, (f'expected at most 10 fields, got {len(items)}: '
                      f'{line.strip()!r}')
    difficulty = 0
    if extra:
        try:
            difficulty = int(extra[0])
        except ValueError:
            return None, f'difficulty must be an integer, got {extra[0]!r}'
        if difficulty < 0:
            return None, f'difficulty must be >= 0, got {difficulty}'
    area = polygon_area(polygon)
    if area < MIN_POLYGON_AREA:
        return None, f'polygon of zero area ({area:g} px^2)'
    return DOTAObject(polygon, class_name, difficulty), None


def parse_annotation_lines(
        lines: Iterable[str],
        file: str,
        classes: Sequence[str] = DOTA_V1_CLASSES
) -> Tuple[List[DOTAObject], List[AnnotationProblem]]:
    """Parse the lines of a DOTA annotation file.

    Header lines (``imagesource:``, ``gsd:``) and blank lines are skipped.

    Args:
        lines (Iterable[str]): The file's lines.
        file (str): The file name used in problem reports.
        classes (Sequence[str]): The valid class names.

    Returns:
        tuple: The valid objects and the problems of the invalid lines.
    """
    objects, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith(HEADER_PREFIXES):
            continue
        obj, reason = parse_object_line(line, classes)
        if obj is None:
            problems.append(AnnotationProblem(file, number, reason))
        else:
            objects.append(obj)
    return objects, problems


def read_annotation_file(
        path: str,
        classes: Sequence[str] = DOTA_V1_CLASSES
) -> Tuple[List[DOTAObject], List[AnnotationProblem]]:
    """Read a DOTA annotation file; see :func:`parse_annotation_lines`."""
    with open(path, encoding='utf-8') as f:
        return parse_annotation_lines(f, path, classes)


def format_object_line(obj: DOTAObject) -> str:
    """The DOTA line of an object, without a newline."""
    coords = ' '.join(f'{v:g}' for v in obj.polygon)
    return f'{coords} {obj.class_name} {obj.difficulty}'


def unknown_class_counts(
        problems: Sequence[AnnotationProblem]) -> Dict[str, int]:
    """How many lines of ``problems`` name each unknown class."""
    counts: Dict[str, int] = {}
    for problem in problems:
        found = UNKNOWN_CLASS.match(problem.reason)
        if found:
            name = ast.literal_eval(found.group(1))
            counts[name] = counts.get(name, 0) + 1
    return counts


def no_object_message(where: str, classes: Sequence[str],
                      problems: Sequence[AnnotationProblem]) -> str:
    """The error of a labelled set left without any valid object."""
    unknown = unknown_class_counts(problems)
    message = (f'{where}: no valid object of the {describe_classes(classes)}'
               f' is left ({len(problems)} invalid line(s) skipped)')
    if unknown:
        found = ', '.join(f'{name!r} ({count} lines)'
                          for name, count in sorted(unknown.items()))
        names = ','.join(sorted(unknown))
        message += (f'. The files name other classes: {found}; give the '
                    f'classes of your data, e.g. --classes {names} or '
                    f'metainfo=dict(classes={tuple(sorted(unknown))!r}) in '
                    'the dataset config')
    return message + '.'


def report_problems(problems: Sequence[AnnotationProblem],
                    logger: str = 'current', limit: int = 20) -> None:
    """Log skipped annotation lines (the first ``limit`` of them)."""
    if not problems:
        return
    files = len({p.file for p in problems})
    shown = '\n'.join(str(p) for p in problems[:limit])
    more = len(problems) - limit
    tail = f'\n... and {more} more' if more > 0 else ''
    print_log(
        f'Skipped {len(problems)} invalid DOTA annotation line(s) in '
        f'{files} file(s) under {osp.dirname(problems[0].file)}:\n'
        f'{shown}{tail}',
        logger=logger, level=30)
