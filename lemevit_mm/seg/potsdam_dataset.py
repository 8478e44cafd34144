"""mmseg's ISPRS Potsdam dataset, with checks of its files."""
import os.path as osp
from typing import List, Optional

import torch
from mmseg.datasets import PotsdamDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class CheckedPotsdamDataset(PotsdamDataset):
    """:class:`mmseg.datasets.PotsdamDataset` that rejects bad files with
    an error naming them.

    Same layout, label ids and options as mmseg's dataset
    (``img_dir/<split>/*.png`` and ``ann_dir/<split>/*.png`` as written by
    mmseg's converter; raw ids 0 = boundary, 1-6 = impervious surface,
    building, low vegetation, tree, car, clutter; ``reduce_zero_label``).
    In addition:

    - when the dataset is built, every image must have its label map, and
      the image folder must hold images;
    - every label map that the pipeline loads must be single-channel, hold
      only ids of the dataset's classes (or ignored ones) and, when loaded
      after the image transforms (test pipelines), be as large as its
      image.

    A faulty file therefore stops the run with a ``FileNotFoundError`` or
    ``ValueError`` naming it, instead of a crash inside the loss, or a
    silently wrong score (mmseg's metric drops unknown ids).
    """
    #: The script that prepares the data, named in error messages.
    converter = 'tools/dataset_converters/potsdam.py'

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        img_dir = self.data_prefix.get('img_path', '')
        if not data_list:
            raise FileNotFoundError(
                f'No {self.img_suffix!r} image found under {img_dir!r}; '
                f'prepare the data with {self.converter}.')
        missing = [info for info in data_list
                   if 'seg_map_path' in info
                   and not osp.isfile(info['seg_map_path'])]
        if missing:
            examples = '; '.join(
                f"{info['seg_map_path']} (for {info['img_path']})"
                for info in missing[:3])
            raise FileNotFoundError(
                f'{len(missing)} of {len(data_list)} images under '
                f'{img_dir!r} have no annotation file, e.g. {examples}.')
        return data_list

    def prepare_data(self, idx: int) -> Optional[dict]:
        data = super().prepare_data(idx)
        if data is not None and 'data_samples' in data:
            self.check_label_map(data, self.get_data_info(idx))
        return data

    def check_label_map(self, data: dict, data_info: dict) -> None:
        """Raise ``ValueError`` naming the file if the loaded label map of
        ``data`` (a pipeline output) is not a valid one.

        Args:
            data (dict): The packed pipeline output of one sample.
            data_info (dict): Its data info (paths).
        """
        sample = data['data_samples']
        if 'gt_sem_seg' not in sample:
            return
        path = data_info.get('seg_map_path')
        label = sample.gt_sem_seg.data
        if label.dim() != 3 or label.shape[0] != 1:
            raise ValueError(
                f'{path}: expected a single-channel label map of class ids, '
                f'got an array of shape {tuple(label.shape)} (a colour '
                f'label? convert the ISPRS labels with {self.converter}).')
        num_classes = len(self.metainfo['classes'])
        invalid = (label >= num_classes) & (label != self.ignore_index)
        if invalid.any():
            found = torch.unique(label[invalid]).tolist()
            # Report the ids as stored in the file.
            offset = 1 if self.reduce_zero_label else 0
            raw = sorted({v + offset for v in found})
            raise ValueError(
                f'{path}: label ids {raw[:10]} are outside the valid range '
                f'0-{self.max_raw_label_id} ({self.raw_label_meaning}).')
        # A label map loaded after the image transforms (test pipelines)
        # keeps its size on file, which must be the image's.
        shape = tuple(label.shape[1:])
        ori_shape = tuple(sample.metainfo.get('ori_shape', shape))
        img_shape = tuple(sample.metainfo.get('img_shape', shape))
        if shape not in (img_shape, ori_shape):
            raise ValueError(
                f'{path}: the label map is {label.shape[1]}x{label.shape[2]}'
                f' but its image {data_info["img_path"]} is '
                f'{ori_shape[0]}x{ori_shape[1]}.')

    @property
    def max_raw_label_id(self) -> int:
        """The largest id a label file may hold."""
        return len(self.METAINFO['classes']) - 1 + int(
            self.reduce_zero_label)

    @property
    def raw_label_meaning(self) -> str:
        """What each id of a label file means."""
        names = list(self.METAINFO['classes'])
        if self.reduce_zero_label:
            names = ['ignored boundary'] + names
        return ', '.join(f'{i} {name}' for i, name in enumerate(names))


@DATASETS.register_module()
class CheckedVaihingenDataset(CheckedPotsdamDataset):
    """ISPRS Vaihingen (mmseg's ``ISPRSDataset``: the classes, label ids,
    layout and options of Potsdam; IR-R-G images) with the file checks of
    :class:`CheckedPotsdamDataset`. Prepared by
    ``tools/dataset_converters/vaihingen.py``."""
    converter = 'tools/dataset_converters/vaihingen.py'
