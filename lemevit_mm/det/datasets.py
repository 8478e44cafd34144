"""DOTA dataset that checks its annotation files."""
import glob
import os.path as osp
from typing import List, Tuple

from mmrotate.datasets import DOTADataset
from mmrotate.registry import DATASETS

from .dota_annotations import read_annotation_file, report_problems


@DATASETS.register_module()
class CheckedDOTADataset(DOTADataset):
    """DOTA-v1.0 patches (``annfiles/*.txt`` + ``images/*.png``), as
    mmrotate's ``DOTADataset``, but with every annotation line checked.

    A line with fewer than 8 coordinates, a class name that is not one of
    the dataset's classes, a zero-area polygon or a bad difficulty is
    logged with its file and line number and skipped, instead of crashing
    the data loading or reaching the loss and the metric. Objects whose
    difficulty exceeds ``diff_thr`` become ignored instances.

    Args:
        img_shape (tuple[int, int]): Height and width of the patches.
            Defaults to (1024, 1024).
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
                 img_shape: Tuple[int, int] = (1024, 1024),
                 diff_thr: int = 100,
                 img_suffix: str = '.png',
                 **kwargs) -> None:
        self.patch_shape = tuple(img_shape)
        self.image_suffix = img_suffix
        super().__init__(diff_thr=diff_thr, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the annotation folder ``ann_file`` (or, when it is empty,
        list the images alone, as for the unlabelled test split)."""
        height, width = self.patch_shape
        if self.ann_file == '':
            return [
                dict(img_path=path, file_name=osp.basename(path),
                     img_id=osp.basename(path)[:-len(self.image_suffix)],
                     height=height, width=width,
                     instances=[dict(bbox=[], bbox_label=[], ignore_flag=0)])
                for path in sorted(glob.glob(osp.join(
                    self.data_prefix['img_path'], '*' + self.image_suffix)))
            ]
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
        return data_list
