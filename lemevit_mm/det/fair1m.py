"""FAIR1M-2.0: from its XML download to DOTA text (then split like DOTA),
and its official submission: one XML file per test image.

The download (``train/images/*.tif``, ``train/labelXml/*.xml``,
``validation/...``, ``test/images/*.tif``; folders or zips) becomes::

    OUT/{train,val,test}/images/<id>.tif     (links, or copies)
    OUT/{train,val}/labelTxt/<id>.txt        DOTA text, difficulty 0

with the class names as one token (``Passenger Ship`` ->
``Passenger_Ship``). ``tools/dataset_converters/dota.py split OUT SPLIT
--dataset fair1m`` then cuts the 1024x1024 patches (gap 200).

:class:`FAIR1MSubmissionMetric` merges the test patches' detections
onto the original images (rotated NMS per class, as the DOTA Task1
submission) and writes, per test image, ``<id>.xml`` in the FAIR1M
format (the original class names, the score as ``probability``, five
points with the first repeated) and a zip of them.
"""
import os
import os.path as osp
import shutil
import tempfile
import zipfile
from collections import defaultdict
from typing import Dict, List, NamedTuple, Sequence
from xml.sax.saxutils import escape

from mmrotate.registry import METRICS

from ..datasets.source_layout import (extract_archives, files_by_stem,
                                      find_folder, place_file, write_lines)
from .class_lists import FAIR1M_CLASSES
from .dota_annotations import (AnnotationProblem, DOTAObject,
                               format_object_line, no_object_message)
from .metrics import DOTAClassAPMetric
from .xml_annotations import read_fair1m_file

SPLITS = dict(train=('train', ), val=('validation', 'val'),
              test=('test', ))


class FAIR1MReport(NamedTuple):
    images: Dict[str, int]
    objects: Dict[str, int]
    problems: List[AnnotationProblem]


def text_name(name: str) -> str:
    """A FAIR1M class name as one DOTA-text token."""
    return name.replace(' ', '_')


def convert_fair1m(source: str, out: str,
                   classes: Sequence[str] = FAIR1M_CLASSES,
                   copy: bool = False) -> FAIR1MReport:
    """Convert a FAIR1M download to DOTA text under ``out``."""
    roots = extract_archives(source, osp.join(out, '.extracted'))
    images, objects, problems = {}, {}, []
    for split, names in SPLITS.items():
        def inside(folder, names=names):
            return osp.basename(osp.dirname(folder)).lower() in names

        image_dir = find_folder(roots, ['images'], f'FAIR1M {names[0]} '
                                'images', ('.tif', '.tiff', '.png'),
                                accept=inside)
        image_files = files_by_stem(image_dir, ('.tif', '.tiff', '.png'))
        for img_id, path in image_files.items():
            place_file(path, osp.join(out, split, 'images',
                                      osp.basename(path)), copy)
        images[split] = len(image_files)
        if split == 'test':
            continue
        xml_dir = find_folder(roots, ['labelXml', 'labelXmls'],
                              f'FAIR1M {names[0]} annotations', ('.xml', ),
                              accept=inside)
        count, split_problems = 0, []
        for img_id, xml_path in files_by_stem(xml_dir, ('.xml', )).items():
            if img_id not in image_files:
                split_problems.append(AnnotationProblem(
                    xml_path, 0, f'no image {img_id}.tif'))
                continue
            found, bad, _ = read_fair1m_file(xml_path, classes)
            split_problems += bad
            count += len(found)
            write_lines(osp.join(out, split, 'labelTxt', f'{img_id}.txt'), [
                format_object_line(DOTAObject(o.polygon,
                                              text_name(o.class_name), 0))
                for o in found
            ])
        if count == 0:
            raise ValueError(no_object_message(
                f'FAIR1M {names[0]}', classes, split_problems))
        objects[split] = count
        problems += split_problems
    return FAIR1MReport(images, objects, problems)


FAIR1M_RESULT_XML = '''<?xml version="1.0" encoding="utf-8"?>
<annotation>
  <source>
    <filename>{filename}</filename>
    <origin>GF2/GF3</origin>
  </source>
  <research>
    <version>2.0</version>
    <provider>lemevit-mm</provider>
    <author>lemevit-mm</author>
    <pluginname>FAIR1M</pluginname>
    <pluginclass>object detection</pluginclass>
    <time>{time}</time>
  </research>
  <objects>
{objects}  </objects>
</annotation>
'''
FAIR1M_RESULT_OBJECT = '''    <object>
      <coordinate>pixel</coordinate>
      <type>rectangle</type>
      <description>None</description>
      <possibleresult>
        <name>{name}</name>
        <probability>{score}</probability>
      </possibleresult>
      <points>
{points}      </points>
    </object>
'''


def write_fair1m_results(detections: Dict[str, List[tuple]],
                         out_dir: str, image_suffix: str = '.tif',
                         time: str = '2021-07-21') -> List[str]:
    """Write ``<id>.xml`` for every image of ``detections`` (``{image id:
    [(class name, score, 8 coordinates), ...]}``, an empty list for an
    image without detections). Returns the file names."""
    os.makedirs(out_dir, exist_ok=True)
    names = []
    for img_id in sorted(detections):
        parts = []
        for name, score, coords in detections[img_id]:
            xy = list(coords) + list(coords[:2])
            points = ''.join(f'        <point>{x:.6f},{y:.6f}</point>\n'
                             for x, y in zip(xy[0::2], xy[1::2]))
            parts.append(FAIR1M_RESULT_OBJECT.format(
                name=escape(name), score=f'{score:.4f}', points=points))
        with open(osp.join(out_dir, f'{img_id}.xml'), 'w',
                  encoding='utf-8') as file:
            file.write(FAIR1M_RESULT_XML.format(
                filename=escape(img_id + image_suffix), time=time,
                objects=''.join(parts)))
        names.append(f'{img_id}.xml')
    return names


@METRICS.register_module()
class FAIR1MSubmissionMetric(DOTAClassAPMetric):
    """The FAIR1M-2.0 test submission: patches merged as for DOTA Task1
    (``merge_patches=True``, ``format_only=True``), then one XML file per
    test image under ``outfile_prefix/`` and their zip
    ``outfile_prefix/<name>.zip``.

    Args:
        class_names (Sequence[str]): The FAIR1M names of the dataset's
            classes, in label order (default: the 37 FAIR1M-2.0 classes,
            whose DOTA-text names the dataset uses).
        image_suffix (str): Suffix of the original test images, named in
            each file. Defaults to '.tif'.
        **kwargs: Arguments of :class:`DOTAClassAPMetric`.
    """

    def __init__(self, class_names: Sequence[str] = FAIR1M_CLASSES,
                 image_suffix: str = '.tif', **kwargs) -> None:
        kwargs.setdefault('merge_patches', True)
        kwargs.setdefault('format_only', True)
        super().__init__(**kwargs)
        self.class_names = tuple(class_names)
        self.image_suffix = image_suffix

    def merge_results(self, results: Sequence[dict],
                      outfile_prefix: str) -> str:
        """Merge with mmrotate's DOTA code into Task1 files (in a
        temporary folder), then rewrite them as FAIR1M XML files."""
        classes = self.dataset_meta['classes']
        if len(classes) != len(self.class_names):
            raise ValueError(
                f'FAIR1MSubmissionMetric: {len(self.class_names)} class '
                f'names for {len(classes)} dataset classes.')
        if osp.exists(outfile_prefix):
            raise ValueError(f'{outfile_prefix} exists already; remove it '
                             'or choose another outfile_prefix.')
        detections: Dict[str, List[tuple]] = defaultdict(list)
        for result in results:  # every test image gets a file
            detections[str(result['img_id']).split('__')[0]]
        with tempfile.TemporaryDirectory() as tmp:
            task1 = osp.join(tmp, 'Task1')
            super().merge_results(results, task1)
            for label, dataset_name in enumerate(classes):
                path = osp.join(task1, f'Task1_{dataset_name}.txt')
                with open(path) as file:
                    for line in file:
                        fields = line.split()
                        detections[fields[0]].append(
                            (self.class_names[label], float(fields[1]),
                             [float(v) for v in fields[2:10]]))
        staging = outfile_prefix + '.tmp'
        shutil.rmtree(staging, ignore_errors=True)
        names = write_fair1m_results(detections, staging, self.image_suffix)
        zip_path = osp.join(staging, osp.basename(outfile_prefix) + '.zip')
        with zipfile.ZipFile(zip_path, 'w', zipfile.ZIP_DEFLATED) as out:
            for name in names:
                out.write(osp.join(staging, name), name)
        os.replace(staging, outfile_prefix)
        return osp.join(outfile_prefix, osp.basename(zip_path))
