"""Small generated samples of the oriented-detection benchmarks, each in
the exact layout (and archive names) of its official download.

- :func:`make_dota_text_sample`: DOTA text labels with any classes (a
  user's own data, e.g. tree crowns of class ``tree``; DOTA-v1.5/v2.0);
- :func:`make_dior_sample`: DIOR-R (``JPEGImages-trainval.zip``,
  ``JPEGImages-test.zip``, ``Annotations.zip`` with ``Oriented Bounding
  Boxes/``, ``ImageSets.zip`` with ``Main/{train,val,test}.txt``);
- :func:`make_hrsc_sample`: HRSC2016 (``HRSC2016/FullDataSet/{AllImages,
  Annotations}``, ``HRSC2016/ImageSets/{trainval,test}.txt``), extracted
  from its archive parts;
- :func:`make_fair1m_sample`: FAIR1M-2.0 (``train/images/*.tif``,
  ``train/labelXml/*.xml``, ``validation/...``, ``test/images``).

Objects are rotated rectangles of one colour per class on a textured
background, not overlapping, fully inside the image. Each function
returns the objects it drew per image id, for the tests to compare with.
"""
import math
import os
import os.path as osp
import shutil
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..det.dota_annotations import DOTAObject, format_object_line

Scene = Dict[str, object]


def class_colour(index: int) -> Tuple[int, int, int]:
    """A distinct BGR colour per class index."""
    hue = (index * 47) % 180
    hsv = np.uint8([[[hue, 200, 230]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def rbox_corners(cx: float, cy: float, w: float, h: float,
                 angle: float) -> np.ndarray:
    """4 x 2 corners of a rotated box (angle in radians)."""
    cos, sin = math.cos(angle), math.sin(angle)
    half = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    return half @ np.array([[cos, sin], [-sin, cos]]) + (cx, cy)


def draw_scene(rng: np.random.Generator, height: int, width: int,
               classes: Sequence[str], num_objects: Tuple[int, int] = (2, 4),
               size_range: Tuple[float, float] = (14, 30)) -> Scene:
    """An image with rotated objects of random classes.

    Returns:
        dict: ``image`` (H x W x 3 uint8, BGR) and ``objects``: dicts with
        ``class_name``, ``rbox`` (cx, cy, w, h, angle in radians) and
        ``polygon`` (8 corner coordinates).
    """
    image = np.full((height, width, 3), rng.uniform(90, 140, 3), np.float32)
    coarse = rng.normal(0, 10, (height // 16 + 1, width // 16 + 1, 3))
    image += cv2.resize(coarse.astype(np.float32), (width, height))
    image += rng.normal(0, 4, image.shape)
    objects, taken = [], []
    for _ in range(int(rng.integers(num_objects[0], num_objects[1] + 1))):
        for _attempt in range(50):
            w, h = rng.uniform(*size_range), rng.uniform(*size_range) * 0.6
            radius = math.hypot(w, h) / 2 + 1
            cx = rng.uniform(radius, width - radius)
            cy = rng.uniform(radius, height - radius)
            if all(math.hypot(cx - x, cy - y) > radius + r + 2
                   for x, y, r in taken):
                break
        else:
            continue
        taken.append((cx, cy, radius))
        label = int(rng.integers(len(classes)))
        angle = float(rng.uniform(-math.pi / 2, math.pi / 2))
        corners = rbox_corners(cx, cy, w, h, angle)
        cv2.fillPoly(image, [np.round(corners).astype(np.int32)],
                     class_colour(label), lineType=cv2.LINE_AA)
        objects.append(dict(
            class_name=classes[label], rbox=(cx, cy, w, h, angle),
            polygon=[round(float(v), 1) for v in corners.reshape(-1)]))
    return dict(image=np.clip(image, 0, 255).astype(np.uint8),
                objects=objects)


def _write_image(path: str, image: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, image):
        raise OSError(f'could not write {path}')


def _zip_folder(folder: str, archive: str, arcroot: str) -> None:
    """Zip the files under ``folder`` as ``arcroot/<relative path>``."""
    with zipfile.ZipFile(archive, 'w', zipfile.ZIP_DEFLATED) as out:
        for parent, _, files in sorted(os.walk(folder)):
            for name in sorted(files):
                path = osp.join(parent, name)
                out.write(path, osp.join(arcroot,
                                         osp.relpath(path, folder)))


def make_dota_text_sample(root: str,
                          classes: Sequence[str] = ('tree', ),
                          num_images: Optional[Dict[str, int]] = None,
                          image_size: Tuple[int, int] = (128, 160),
                          seed: int = 0) -> Dict[str, Dict[str, list]]:
    """Images with DOTA text labels (``<split>/images/*.png``,
    ``<split>/labelTxt/*.txt``; no labels for ``test``) of any classes.

    Returns:
        dict: ``{split: {image id: objects}}``.
    """
    rng = np.random.default_rng(seed)
    num_images = num_images or dict(train=2, val=1, test=1)
    drawn: Dict[str, Dict[str, list]] = {}
    index = 0
    for split, count in num_images.items():
        drawn[split] = {}
        for _ in range(count):
            img_id = f'P{index:04d}'
            index += 1
            scene = draw_scene(rng, *image_size, classes)
            _write_image(osp.join(root, split, 'images', f'{img_id}.png'),
                         scene['image'])
            drawn[split][img_id] = scene['objects']
            if split == 'test':
                continue
            label_dir = osp.join(root, split, 'labelTxt')
            os.makedirs(label_dir, exist_ok=True)
            lines = ['imagesource:sample', 'gsd:0.1'] + [
                format_object_line(DOTAObject(o['polygon'], o['class_name'],
                                              0))
                for o in scene['objects']]
            with open(osp.join(label_dir, f'{img_id}.txt'), 'w') as file:
                file.write('\n'.join(lines) + '\n')
    return drawn


DIOR_XML = '''<?xml version="1.0" encoding="UTF-8"?>
<annotation>
    <filename>{img_id}.jpg</filename>
    <source>
        <database>Unknown</database>
    </source>
    <size>
        <width>{width}</width>
        <height>{height}</height>
        <depth>3</depth>
    </size>
    <segmented>0</segmented>
{objects}</annotation>
'''
DIOR_OBJECT = '''    <object>
        <type>robndbox</type>
        <name>{name}</name>
        <pose>Unspecified</pose>
        <truncated>0</truncated>
        <difficult>0</difficult>
        <robndbox>
            <x_left_top>{0}</x_left_top>
            <y_left_top>{1}</y_left_top>
            <x_right_top>{2}</x_right_top>
            <y_right_top>{3}</y_right_top>
            <x_right_bottom>{4}</x_right_bottom>
            <y_right_bottom>{5}</y_right_bottom>
            <x_left_bottom>{6}</x_left_bottom>
            <y_left_bottom>{7}</y_left_bottom>
        </robndbox>
        <angle>{angle}</angle>
    </object>
'''
# The DIOR XML files spell two classes with capitals.
DIOR_FILE_NAMES = {
    'expressway-service-area': 'Expressway-Service-area',
    'expressway-toll-station': 'Expressway-toll-station'
}


def dior_xml(img_id: str, objects: List[dict], height: int,
             width: int) -> str:
    """The DIOR-R oriented-box XML text of an image."""
    return DIOR_XML.format(
        img_id=img_id, height=height, width=width,
        objects=''.join(
            DIOR_OBJECT.format(
                *o['polygon'],
                name=DIOR_FILE_NAMES.get(o['class_name'], o['class_name']),
                angle=round(math.degrees(o['rbox'][4])))
            for o in objects))


def make_dior_sample(root: str,
                     classes: Sequence[str],
                     num_images: Optional[Dict[str, int]] = None,
                     image_size: int = 128,
                     seed: int = 0,
                     zipped: bool = True) -> Dict[str, Dict[str, list]]:
    """A DIOR-R download: the official zips (or their extracted folders
    with ``zipped=False``) with 5-digit image ids, trainval ids first.

    Returns:
        dict: ``{split: {image id: objects}}`` for train, val and test.
    """
    rng = np.random.default_rng(seed)
    num_images = num_images or dict(train=2, val=1, test=2)
    staging = osp.join(root, 'extracted') if zipped else root
    drawn: Dict[str, Dict[str, list]] = {}
    index = 1
    for split in ('train', 'val', 'test'):
        drawn[split] = {}
        folder = 'JPEGImages-test' if split == 'test' else \
            'JPEGImages-trainval'
        for _ in range(num_images.get(split, 0)):
            img_id = f'{index:05d}'
            index += 1
            scene = draw_scene(rng, image_size, image_size, classes)
            _write_image(osp.join(staging, folder, f'{img_id}.jpg'),
                         scene['image'])
            xml_dir = osp.join(staging, 'Annotations',
                               'Oriented Bounding Boxes')
            os.makedirs(xml_dir, exist_ok=True)
            with open(osp.join(xml_dir, f'{img_id}.xml'), 'w') as file:
                file.write(dior_xml(img_id, scene['objects'], image_size,
                                    image_size))
            drawn[split][img_id] = scene['objects']
        list_dir = osp.join(staging, 'ImageSets', 'Main')
        os.makedirs(list_dir, exist_ok=True)
        with open(osp.join(list_dir, f'{split}.txt'), 'w') as file:
            file.write(''.join(f'{i}\n' for i in drawn[split]))
    if zipped:
        # As distributed: the image zips hold a folder of their name.
        for name in ('JPEGImages-trainval', 'JPEGImages-test'):
            _zip_folder(osp.join(staging, name),
                        osp.join(root, f'{name}.zip'), name)
        _zip_folder(osp.join(staging, 'Annotations'),
                    osp.join(root, 'Annotations.zip'), 'Annotations')
        _zip_folder(osp.join(staging, 'ImageSets'),
                    osp.join(root, 'ImageSets.zip'), 'ImageSets')
        shutil.rmtree(staging)
    return drawn


HRSC_XML = '''<HRSC_Image>
  <Img_ID>{img_id}</Img_ID>
  <Img_FileName>{img_id}</Img_FileName>
  <Img_FileFmt>bmp</Img_FileFmt>
  <Img_SizeWidth>{width}</Img_SizeWidth>
  <Img_SizeHeight>{height}</Img_SizeHeight>
  <Img_SizeDepth>3</Img_SizeDepth>
  <Annotated>1</Annotated>
  <HRSC_Objects>
{objects}  </HRSC_Objects>
</HRSC_Image>
'''
HRSC_OBJECT = '''    <HRSC_Object>
      <Object_ID>{object_id}</Object_ID>
      <Class_ID>100000001</Class_ID>
      <truncated>0</truncated>
      <difficult>0</difficult>
      <mbox_cx>{0:.4f}</mbox_cx>
      <mbox_cy>{1:.4f}</mbox_cy>
      <mbox_w>{2:.4f}</mbox_w>
      <mbox_h>{3:.4f}</mbox_h>
      <mbox_ang>{4:.6f}</mbox_ang>
      <header_x>{head_x}</header_x>
      <header_y>{head_y}</header_y>
    </HRSC_Object>
'''


def hrsc_xml(img_id: str, objects: List[dict], height: int,
             width: int) -> str:
    """The HRSC2016 XML text of an image."""
    parts = []
    for number, obj in enumerate(objects):
        cx, cy, w, _, angle = obj['rbox']
        parts.append(HRSC_OBJECT.format(
            *obj['rbox'], object_id=f'{img_id}{number}',
            head_x=round(cx + w / 2 * math.cos(angle)),
            head_y=round(cy + w / 2 * math.sin(angle))))
    return HRSC_XML.format(img_id=img_id, height=height, width=width,
                           objects=''.join(parts))


def make_hrsc_sample(root: str,
                     num_images: Optional[Dict[str, int]] = None,
                     image_size: Tuple[int, int] = (112, 144),
                     seed: int = 0) -> Dict[str, Dict[str, list]]:
    """An extracted HRSC2016 download under ``root/HRSC2016``: BMP
    images, XML annotations, the ``ImageSets`` lists (train, val,
    trainval, test). Images are not square (the width is read right).

    Returns:
        dict: ``{split: {image id: ships}}`` for trainval and test.
    """
    rng = np.random.default_rng(seed)
    num_images = num_images or dict(train=2, val=1, test=2)
    base = osp.join(root, 'HRSC2016')
    drawn: Dict[str, Dict[str, list]] = {}
    index = 1
    lists: Dict[str, List[str]] = {}
    for split in ('train', 'val', 'test'):
        lists[split] = []
        for _ in range(num_images.get(split, 0)):
            img_id = f'1000{index:05d}'
            index += 1
            scene = draw_scene(rng, *image_size, ('ship', ),
                               size_range=(24, 40))
            _write_image(osp.join(base, 'FullDataSet', 'AllImages',
                                  f'{img_id}.bmp'), scene['image'])
            xml_dir = osp.join(base, 'FullDataSet', 'Annotations')
            os.makedirs(xml_dir, exist_ok=True)
            with open(osp.join(xml_dir, f'{img_id}.xml'), 'w') as file:
                file.write(hrsc_xml(img_id, scene['objects'], *image_size))
            lists[split].append(img_id)
            key = 'test' if split == 'test' else 'trainval'
            drawn.setdefault(key, {})[img_id] = scene['objects']
    lists['trainval'] = lists['train'] + lists['val']
    os.makedirs(osp.join(base, 'ImageSets'), exist_ok=True)
    for split, ids in lists.items():
        with open(osp.join(base, 'ImageSets', f'{split}.txt'), 'w') as file:
            file.write(''.join(f'{i}\n' for i in ids))
    return drawn


FAIR1M_XML = '''<?xml version="1.0" encoding="utf-8"?>
<annotation>
  <source>
    <filename>{img_id}.tif</filename>
    <origin>GF2/GF3</origin>
  </source>
  <research>
    <version>2.0</version>
    <provider>sample</provider>
  </research>
  <size>
    <width>{width}</width>
    <height>{height}</height>
    <depth>3</depth>
  </size>
  <objects>
{objects}  </objects>
</annotation>
'''
FAIR1M_OBJECT = '''    <object>
      <coordinate>pixel</coordinate>
      <type>rectangle</type>
      <description>None</description>
      <possibleresult>
        <name>{name}</name>
        <probability>1</probability>
      </possibleresult>
      <points>
{points}      </points>
    </object>
'''


def fair1m_xml(img_id: str, objects: List[dict], height: int,
               width: int) -> str:
    """The FAIR1M XML text of an image (5 points, the first repeated)."""
    parts = []
    for obj in objects:
        xy = obj['polygon'] + obj['polygon'][:2]
        points = ''.join(f'        <point>{x:.6f},{y:.6f}</point>\n'
                         for x, y in zip(xy[0::2], xy[1::2]))
        parts.append(FAIR1M_OBJECT.format(name=obj['class_name'],
                                          points=points))
    return FAIR1M_XML.format(img_id=img_id, height=height, width=width,
                             objects=''.join(parts))


def make_fair1m_sample(root: str,
                       classes: Sequence[str],
                       num_images: Optional[Dict[str, int]] = None,
                       image_size: int = 128,
                       seed: int = 0) -> Dict[str, Dict[str, list]]:
    """An extracted FAIR1M-2.0 download: ``train/images/*.tif`` +
    ``train/labelXml/*.xml``, ``validation/...`` and ``test/images``.

    Returns:
        dict: ``{split: {image id: objects}}``.
    """
    rng = np.random.default_rng(seed)
    num_images = num_images or dict(train=2, validation=1, test=1)
    drawn: Dict[str, Dict[str, list]] = {}
    index = 0
    for split, count in num_images.items():
        drawn[split] = {}
        for _ in range(count):
            img_id = str(index)
            index += 1
            scene = draw_scene(rng, image_size, image_size, classes)
            _write_image(osp.join(root, split, 'images', f'{img_id}.tif'),
                         scene['image'])
            drawn[split][img_id] = scene['objects']
            if split == 'test':
                continue
            xml_dir = osp.join(root, split, 'labelXml')
            os.makedirs(xml_dir, exist_ok=True)
            with open(osp.join(xml_dir, f'{img_id}.xml'), 'w') as file:
                file.write(fair1m_xml(img_id, scene['objects'],
                                      image_size, image_size))
    return drawn
