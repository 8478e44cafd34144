"""Reading and checking the XML annotations of DIOR-R, HRSC2016 and
FAIR1M, with the line number of every object.

Each reader returns the valid objects as :class:`DOTAObject` (a 4-corner
polygon, the class name, a difficulty flag) and the invalid ones as
:class:`AnnotationProblem` (``file:line: reason``), exactly as the DOTA
text reader does, so that the datasets, the converters and the metric see
the same objects.

- DIOR-R (``Annotations/Oriented Bounding Boxes/<id>.xml``): Pascal VOC
  with ``<robndbox>`` holding the four corners ``x_left_top``,
  ``y_left_top``, ... ``y_left_bottom``; class names are matched case
  insensitively (the files say ``Expressway-Service-area``).
- HRSC2016 (``FullDataSet/Annotations/<id>.xml``): one ``HRSC_Object``
  per ship with the rotated box ``mbox_cx, mbox_cy, mbox_w, mbox_h,
  mbox_ang`` (radians); every object is a ``ship`` (the level-1 task
  the field reports).
- FAIR1M (``labelXml/<id>.xml``): ``<object>`` elements with
  ``<possibleresult><name>`` and five ``<point>x,y</point>`` (the first
  corner repeated).
"""
import math
import xml.parsers.expat
from typing import Dict, List, Optional, Sequence, Tuple
from xml.etree import ElementTree

from .class_lists import DIOR_CLASSES, FAIR1M_CLASSES, describe_classes
from .dota_annotations import (MIN_POLYGON_AREA, AnnotationProblem,
                               DOTAObject, polygon_area)

Objects = List[DOTAObject]
Problems = List[AnnotationProblem]

DIOR_CORNERS = ('x_left_top', 'y_left_top', 'x_right_top', 'y_right_top',
                'x_right_bottom', 'y_right_bottom', 'x_left_bottom',
                'y_left_bottom')
HRSC_BOX = ('mbox_cx', 'mbox_cy', 'mbox_w', 'mbox_h', 'mbox_ang')


class XMLDocument:
    """A parsed XML file that knows the line of each element."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: Dict[ElementTree.Element, int] = {}
        builder = ElementTree.TreeBuilder()
        parser = xml.parsers.expat.ParserCreate()

        def start(tag, attrs):
            element = builder.start(tag, attrs)
            self.lines[element] = parser.CurrentLineNumber

        parser.StartElementHandler = start
        parser.EndElementHandler = builder.end
        parser.CharacterDataHandler = builder.data
        with open(path, 'rb') as file:
            try:
                parser.ParseFile(file)
            except xml.parsers.expat.ExpatError as error:
                raise ValueError(f'{path}:{error.lineno}: not valid XML '
                                 f'({error}).') from None
        self.root = builder.close()

    def line(self, element: ElementTree.Element) -> int:
        return self.lines.get(element, 0)

    def problem(self, element: ElementTree.Element,
                reason: str) -> AnnotationProblem:
        return AnnotationProblem(self.path, self.line(element), reason)


def _text(element: ElementTree.Element, tag: str) -> Optional[str]:
    child = element.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip()


def _numbers(element: ElementTree.Element,
             tags: Sequence[str]) -> Tuple[Optional[List[float]], str]:
    """The numbers of the child elements ``tags``, or a reason."""
    values = []
    for tag in tags:
        text = _text(element, tag)
        if text is None:
            return None, f'missing <{tag}>'
        try:
            value = float(text)
        except ValueError:
            return None, f'<{tag}> is not a number: {text!r}'
        if not math.isfinite(value):
            return None, f'non-finite <{tag}>: {text!r}'
        values.append(value)
    return values, ''


def _check_polygon(polygon: List[float]) -> str:
    area = polygon_area(polygon)
    if area < MIN_POLYGON_AREA:
        return f'polygon of zero area ({area:g} px^2)'
    return ''


def _match_class(name: Optional[str], classes: Sequence[str],
                 case_insensitive: bool) -> Tuple[Optional[str], str]:
    if not name:
        return None, 'missing class name'
    if name in classes:
        return name, ''
    if case_insensitive:
        lowered = {c.lower(): c for c in classes}
        if name.lower() in lowered:
            return lowered[name.lower()], ''
    return None, (f'unknown class {name!r} (not one of the '
                  f'{describe_classes(classes)}; give the classes of your '
                  "data with --classes or the config's metainfo)")


def image_size(doc: XMLDocument) -> Optional[Tuple[int, int]]:
    """``(height, width)`` stated by the file, or ``None``."""
    root = doc.root
    size = root.find('size')
    if size is not None:
        height, width = _text(size, 'height'), _text(size, 'width')
    else:  # HRSC2016
        height = _text(root, 'Img_SizeHeight')
        width = _text(root, 'Img_SizeWidth')
    try:
        return int(float(height)), int(float(width))
    except (TypeError, ValueError):
        return None


def read_dior_file(path: str, classes: Sequence[str] = DIOR_CLASSES
                   ) -> Tuple[Objects, Problems, Optional[Tuple[int, int]]]:
    """The objects of a DIOR-R oriented-box XML file.

    Returns:
        tuple: Valid objects, problems of the invalid ones, and the image
        ``(height, width)`` the file states (``None`` if absent).
    """
    doc = XMLDocument(path)
    objects, problems = [], []
    for element in doc.root.iter('object'):
        name, reason = _match_class(_text(element, 'name'), classes, True)
        box = element.find('robndbox')
        if not reason and box is None:
            reason = 'no <robndbox> (a horizontal-box file?)'
        polygon = None
        if not reason:
            polygon, reason = _numbers(box, DIOR_CORNERS)
        reason = reason or _check_polygon(polygon)
        if reason:
            problems.append(doc.problem(element, reason))
            continue
        difficult = _text(element, 'difficult') or '0'
        objects.append(DOTAObject(polygon, name, int(difficult == '1')))
    return objects, problems, image_size(doc)


def rbox_to_polygon(cx: float, cy: float, w: float, h: float,
                    angle: float) -> List[float]:
    """The 4 corners of a rotated box (angle in radians, clockwise in
    image coordinates), as mmrotate's ``rbox2qbox`` orders them."""
    cos, sin = math.cos(angle), math.sin(angle)
    vx, vy = w / 2 * cos, w / 2 * sin  # half width vector
    ux, uy = -h / 2 * sin, h / 2 * cos  # half height vector
    corners = [(cx + vx + ux, cy + vy + uy), (cx + vx - ux, cy + vy - uy),
               (cx - vx - ux, cy - vy - uy), (cx - vx + ux, cy - vy + uy)]
    return [v for corner in corners for v in corner]


def read_hrsc_file(path: str, classes: Sequence[str] = ('ship', )
                   ) -> Tuple[Objects, Problems, Optional[Tuple[int, int]]]:
    """The ships of an HRSC2016 XML file (all of class ``classes[0]``)."""
    doc = XMLDocument(path)
    objects, problems = [], []
    for element in doc.root.iter('HRSC_Object'):
        box, reason = _numbers(element, HRSC_BOX)
        if not reason and (box[2] <= 0 or box[3] <= 0):
            reason = f'box of non-positive size {box[2]:g} x {box[3]:g}'
        polygon = None if reason else rbox_to_polygon(*box)
        reason = reason or _check_polygon(polygon)
        if reason:
            problems.append(doc.problem(element, reason))
            continue
        difficult = _text(element, 'difficult') or '0'
        objects.append(DOTAObject(polygon, classes[0],
                                  int(difficult == '1')))
    return objects, problems, image_size(doc)


def read_fair1m_file(path: str, classes: Sequence[str] = FAIR1M_CLASSES
                     ) -> Tuple[Objects, Problems,
                                Optional[Tuple[int, int]]]:
    """The objects of a FAIR1M XML file (4 corners; a fifth point equal
    to the first is dropped)."""
    doc = XMLDocument(path)
    objects, problems = [], []
    for element in doc.root.iter('object'):
        result = element.find('possibleresult')
        name = _text(result, 'name') if result is not None else None
        # 'Passenger Ship' matches 'Passenger_Ship' (DOTA-text spelling)
        as_token = {c.replace(' ', '_'): c for c in classes}
        if name and name.replace(' ', '_') in as_token:
            name = as_token[name.replace(' ', '_')]
        name, reason = _match_class(name, classes, False)
        polygon: List[float] = []
        if not reason:
            points = element.findall('points/point')
            for point in points:
                try:
                    x, y = (float(v) for v in (point.text or '').split(','))
                except ValueError:
                    reason = f'bad point {point.text!r} (expected "x,y")'
                    break
                polygon += [x, y]
            if not reason and len(polygon) == 10 and \
                    polygon[8:] == polygon[:2]:
                polygon = polygon[:8]
            if not reason and len(polygon) != 8:
                reason = f'expected 4 corners, got {len(polygon) // 2}'
            if not reason and not all(map(math.isfinite, polygon)):
                reason = 'non-finite coordinate'
        reason = reason or _check_polygon(polygon)
        if reason:
            problems.append(doc.problem(element, reason))
            continue
        objects.append(DOTAObject(polygon, name, 0))
    return objects, problems, image_size(doc)


READERS = dict(dior=read_dior_file, hrsc=read_hrsc_file,
               fair1m=read_fair1m_file)
