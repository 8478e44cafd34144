"""DIOR-R and HRSC2016 datasets that check their XML annotations, and
DOTA-v1.5 / v2.0 patches checked like DOTA-v1.0's."""
import os.path as osp
from typing import Callable, List

from mmengine.fileio import list_from_file
from mmrotate.datasets import (DIORDataset, DOTAv2Dataset, DOTAv15Dataset,
                               HRSCDataset)
from mmrotate.registry import DATASETS

from .class_lists import FAIR1M_TEXT_CLASSES, HRSC_CLASSES
from .datasets import CheckedDOTADataset
from .dota_annotations import no_object_message, report_problems
from .xml_annotations import read_dior_file, read_hrsc_file


@DATASETS.register_module()
class CheckedDOTAv15Dataset(CheckedDOTADataset):
    """DOTA-v1.5 patches (16 classes: DOTA-v1.0's and container-crane),
    checked as :class:`CheckedDOTADataset`."""
    METAINFO = DOTAv15Dataset.METAINFO


@DATASETS.register_module()
class CheckedDOTAv2Dataset(CheckedDOTADataset):
    """DOTA-v2.0 patches (18 classes: DOTA-v1.5's, airport and helipad),
    checked as :class:`CheckedDOTADataset`."""
    METAINFO = DOTAv2Dataset.METAINFO


@DATASETS.register_module()
class CheckedFAIR1MDataset(CheckedDOTADataset):
    """FAIR1M-2.0 patches (37 classes), converted to DOTA text by
    ``tools/dataset_converters/fair1m.py`` (class names as one token,
    ``Passenger_Ship``) and split like DOTA; checked as
    :class:`CheckedDOTADataset`."""
    METAINFO = dict(classes=FAIR1M_TEXT_CLASSES,
                    palette=[(int(i * 67 % 256), int(i * 131 % 256),
                              int(i * 197 % 256)) for i in range(37)])


class XMLCheckMixin:
    """Reads an image-id list (``ann_file``) and one XML file per image
    through a checking reader: invalid objects are logged as
    ``file:line: reason`` and skipped; a listed image without its XML or
    image file, an empty list, and a training set left without any object
    are errors naming the files."""

    #: ``reader(path, classes) -> (objects, problems, (h, w) or None)``
    reader: Callable = None
    #: suffix of the image files
    image_suffix = '.jpg'
    default_size = (800, 800)

    def xml_path(self, img_id: str) -> str:
        raise NotImplementedError

    def image_path(self, img_id: str) -> str:
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: image list not found: '
                f'{self.ann_file}')
        img_ids = [i.strip() for i in list_from_file(self.ann_file)
                   if i.strip()]
        if not img_ids:
            raise ValueError(f'{type(self).__name__}: {self.ann_file} '
                             'lists no image.')
        classes = self.metainfo['classes']
        label_of = {name: i for i, name in enumerate(classes)}
        data_list, problems, missing = [], [], []
        for img_id in img_ids:
            xml_path, img_path = self.xml_path(img_id), self.image_path(
                img_id)
            for path in (xml_path, img_path):
                if not osp.isfile(path):
                    missing.append(path)
            if not osp.isfile(xml_path):
                continue
            objects, file_problems, size = type(self).reader(
                xml_path, classes)
            problems += file_problems
            height, width = size or self.default_size
            data_list.append(dict(
                img_id=img_id, file_name=osp.basename(img_path),
                img_path=img_path, xml_path=xml_path, height=height,
                width=width,
                instances=[
                    dict(bbox=obj.polygon,
                         bbox_label=label_of[obj.class_name],
                         ignore_flag=0) for obj in objects
                ]))
        if missing:
            raise FileNotFoundError(
                f'{type(self).__name__}: {len(missing)} file(s) of the '
                f'images listed in {self.ann_file} do not exist, e.g. '
                f'{missing[:3]}')
        report_problems(problems)
        self.annotation_problems = problems
        return data_list

    def filter_data(self) -> List[dict]:
        data_list = super().filter_data()
        if not data_list and not self.test_mode:
            raise ValueError(no_object_message(
                f'{type(self).__name__} ({self.ann_file})',
                self.metainfo['classes'], self.annotation_problems))
        return data_list


@DATASETS.register_module()
class CheckedDIORDataset(XMLCheckMixin, DIORDataset):
    """DIOR-R (20 classes, 800x800 JPEG images) in its official layout,
    as mmrotate's ``DIORDataset`` reads it::

        data_root/JPEGImages-trainval/00001.jpg ... JPEGImages-test/
        data_root/Annotations/Oriented Bounding Boxes/00001.xml
        data_root/ImageSets/Main/{train,val,test}.txt

    with every object checked (see :mod:`.xml_annotations`): class names
    match case insensitively, as in mmrotate; an unknown class, a missing
    or non-numeric corner or a zero-area box is logged with its file and
    line and skipped. The classes are those of ``metainfo`` if given.

    Args:
        ann_subdir (str): Folder of the XML files under ``data_root``.
            Defaults to 'Annotations/Oriented Bounding Boxes/'.
        **kwargs: Arguments of mmrotate's ``DIORDataset``.
    """
    reader = staticmethod(read_dior_file)

    def xml_path(self, img_id: str) -> str:
        return osp.join(self.data_root, self.ann_subdir, f'{img_id}.xml')

    def image_path(self, img_id: str) -> str:
        return osp.join(self.data_prefix['img_path'], f'{img_id}.jpg')


@DATASETS.register_module()
class CheckedHRSCDataset(XMLCheckMixin, HRSCDataset):
    """HRSC2016 in its official layout, as mmrotate's ``HRSCDataset``
    reads it, at level 1 (every object a ``ship``, the task the field
    reports)::

        data_root/FullDataSet/AllImages/100000001.bmp
        data_root/FullDataSet/Annotations/100000001.xml
        data_root/ImageSets/{trainval,test}.txt

    Every ship is checked (see :mod:`.xml_annotations`); the image size
    is read from ``Img_SizeHeight`` / ``Img_SizeWidth`` (mmrotate's
    class reads the width twice).

    Args:
        img_subdir (str): Image folder under ``sub_data_root``.
            Defaults to 'AllImages'.
        ann_subdir (str): XML folder under ``sub_data_root``.
            Defaults to 'Annotations'.
        **kwargs: Arguments of mmrotate's ``HRSCDataset``
            (``data_prefix=dict(sub_data_root='FullDataSet/')``), but not
            ``classwise=True`` (the 31-class level 3 task).
    """
    METAINFO = dict(classes=HRSC_CLASSES, palette=[(220, 20, 60)])
    reader = staticmethod(read_hrsc_file)
    image_suffix = '.bmp'

    def __init__(self, classwise: bool = False, **kwargs) -> None:
        if classwise:
            raise ValueError(
                'CheckedHRSCDataset reads the level-1 task (one class, '
                '"ship"); use mmrotate\'s HRSCDataset for classwise=True.')
        super().__init__(classwise=False, **kwargs)

    def load_data_list(self) -> List[dict]:
        # mmrotate's HRSCDataset resets the classes to ('ship', ) here.
        return XMLCheckMixin.load_data_list(self)

    def xml_path(self, img_id: str) -> str:
        return osp.join(self.sub_data_root, self.ann_subdir,
                        f'{img_id}.xml')

    def image_path(self, img_id: str) -> str:
        return osp.join(self.sub_data_root, self.img_subdir,
                        f'{img_id}.bmp')

