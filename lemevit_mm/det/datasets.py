"""DOTA dataset that checks its annotation files."""
import glob
import os.path as osp
import re
from typing import List, Optional, Tuple

from mmrotate.datasets import DOTADataset
from mmrotate.registry import DATASETS

from .dota_annotations import (no_object_message, read_annotation_file,
                               report_problems)


# the split tool's patch names: <image id>__<size>__<x>___<y>
PATCH_NAME = re.compile(r'__(\d+)__\d+___\d+$')


@DATASETS.register_module()
class CheckedDOTADataset(DOTADataset):
    """DOTA-v1.0 patches (``annfiles/*.txt`` + ``images/*.png``), as
    mmrotate's ``DOTADataset``, but with every annotation line checked.

    A line with fewer than 8 coordinates, a class name that is not one of
    the dataset's classes, a zero-area polygon or a bad difficulty is
    logged with its file and line number and skipped, instead of crashing
    the data loading or reaching the loss and the metric. Objects whose
    difficulty exceeds ``diff_thr`` become ignored instances.

    The classes are those of ``metainfo=dict(classes=...)`` when given
    (a user's own, e.g. ``('tree', )``), else DOTA-v1.0's. A training set
    left without any image holding a valid object (every line of another
    class, say) is an error naming the classes the files use, not an
    empty dataset.

    Args:
        img_shape (tuple[int, int], optional): Height and width of the
            patches; ``None`` reads each from its name (``P0000__<size>__
            <x>___<y>``, as multi-scale splits have patches of several
            sizes). Defaults to (1024, 1024).
        diff_thr (int): Objects with a larger difficulty are ignored.
            Defaults to 100.
        img_suffix (str): Suffix of the image files, e.g. ``'.tif'`` for
            N-band patches (read by ``LoadMultiBandImageFromFile``).
            Defaults to '.png'.
        **kwargs: Arguments of :class:`mmengine.dataset.BaseDataset`.

    ``img_shape`` is this class's own argument: mmrotate 1.0.0rc1's
    ``DOTADataset`` takes it too, the OneDL mmrotate 1.2 one does not.
    """

    def __init__(self,
                 img_shape: Optional[Tuple[int, int]] = (1024, 1024),
                 diff_thr: int = 100,
                 img_suffix: str = '.png',
                 **kwargs) -> None:
        self.patch_shape = tuple(img_shape) if img_shape else None
        self.image_suffix = img_suffix
        self.annotation_problems = []
        super().__init__(diff_thr=diff_thr, **kwargs)

    def shape_of(self, img_id: str) -> Tuple[int, int]:
        """``(height, width)`` of a patch: ``img_shape``, or the size in
        its name."""
        if self.patch_shape:
            return self.patch_shape
        found = PATCH_NAME.search(img_id)
        if not found:
            raise ValueError(
                f'{type(self).__name__}: img_shape=None, but the patch name '
                f'{img_id!r} has no "__<size>__<x>___<y>" part to read the '
                'size from.')
        size = int(found.group(1))
        return size, size

    def load_data_list(self) -> List[dict]:
        """Read the annotation folder ``ann_file`` (or, when it is empty,
        list the images alone, as for the unlabelled test split)."""
        if self.ann_file == '':
            img_dir = self.data_prefix['img_path']
            paths = sorted(glob.glob(osp.join(img_dir,
                                              '*' + self.image_suffix)))
            if not paths:
                raise FileNotFoundError(
                    f'No *{self.image_suffix} image in {img_dir}')
            data_list = []
            for path in paths:
                img_id = osp.basename(path)[:-len(self.image_suffix)]
                height, width = self.shape_of(img_id)
                data_list.append(dict(
                    img_path=path, file_name=osp.basename(path),
                    img_id=img_id, height=height, width=width,
                    instances=[dict(bbox=[], bbox_label=[], ignore_flag=0)]))
            return data_list
        if not osp.isdir(self.ann_file):
            raise FileNotFoundError(
                f'DOTA annotation folder not found: {self.ann_file}')
        txt_files = sorted(glob.glob(osp.join(self.ann_file, '*.txt')))
        if not txt_files:
            raise ValueError(f'No *.txt annotation file in {self.ann_file}')
        classes = self.metainfo['classes']
        label_of = {name: i for i, name in enumerate(classes)}
        data_list, problems, missing = [], [], []
        for txt_file in txt_files:
            objects, file_problems = read_annotation_file(txt_file, classes)
            problems += file_problems
            img_id = osp.splitext(osp.basename(txt_file))[0]
            height, width = self.shape_of(img_id)
            img_name = img_id + self.image_suffix
            img_path = osp.join(self.data_prefix['img_path'], img_name)
            if not osp.isfile(img_path):
                missing.append(img_path)
            instances = [
                dict(bbox=obj.polygon,
                     bbox_label=label_of[obj.class_name],
                     ignore_flag=int(obj.difficulty > self.diff_thr))
                for obj in objects
            ]
            data_list.append(
                dict(img_id=img_id, file_name=img_name,
                     img_path=img_path,
                     height=height, width=width,
                     instances=instances))
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} image(s) of the annotation files in '
                f'{self.ann_file} do not exist, e.g. {missing[:3]}')
        report_problems(problems)
        self.annotation_problems = problems
        return data_list

    def filter_data(self) -> List[dict]:
        """mmrotate's filtering (images without objects dropped when
        ``filter_cfg=dict(filter_empty_gt=True)``), and a clear error if
        a training set is left empty."""
        data_list = super().filter_data()
        if not data_list and not self.test_mode:
            raise ValueError(no_object_message(
                f'{type(self).__name__} ({self.ann_file})',
                self.metainfo['classes'], self.annotation_problems))
        return data_list
