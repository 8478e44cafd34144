"""Bi-temporal change detection datasets (CDD and LEVIR-CD)."""
import os.path as osp
from typing import List

from mmengine import fileio
from mmseg.datasets import BaseCDDataset, LEVIRCDDataset
from mmseg.registry import DATASETS


class PairCheckMixin:
    """Checks that every date-A image of a split has a date-B partner and a
    label, and (unless an ``ann_file`` lists a subset) that date B has no
    image without a date-A partner.

    Mixed into mmseg's :class:`BaseCDDataset` subclasses (whose data infos
    carry ``img_path``, ``img_path2`` and ``seg_map_path``).
    """

    def load_data_list(self) -> List[dict]:
        """Pair the files of the split; raise a clear error if a partner or
        a label is missing."""
        prefix = self.data_prefix
        for key in ('img_path', 'img_path2', 'seg_map_path'):
            folder = prefix.get(key)
            if not folder or not fileio.isdir(
                    folder, backend_args=self.backend_args):
                raise FileNotFoundError(
                    f'{type(self).__name__}: data_prefix[{key!r}] is not a '
                    f'directory: {folder!r}.')
        data_list = super().load_data_list()
        if not data_list:
            raise FileNotFoundError(
                f'{type(self).__name__}: no *{self.img_suffix} images in '
                f"{prefix['img_path']}.")
        partners = set()
        for info in data_list:
            if self.ann_file and not fileio.exists(
                    info['img_path'], backend_args=self.backend_args):
                raise FileNotFoundError(
                    f'{type(self).__name__}: {self.ann_file} lists '
                    f"{info['img_path']}, which does not exist.")
            for key, what in (('img_path2', 'date-B partner'),
                              ('seg_map_path', 'label')):
                if not fileio.exists(info[key],
                                     backend_args=self.backend_args):
                    raise FileNotFoundError(
                        f'{type(self).__name__}: date-A image '
                        f"{info['img_path']} has no {what}: expected "
                        f'{info[key]}.')
            partners.add(osp.relpath(info['img_path2'], prefix['img_path2']))
        if self.ann_file:
            return data_list  # a listed subset: other files may exist
        for name in fileio.list_dir_or_file(
                prefix['img_path2'], list_dir=False,
                suffix=self.img_suffix2, recursive=True,
                backend_args=self.backend_args):
            if name not in partners:
                raise FileNotFoundError(
                    f'{type(self).__name__}: date-B image '
                    f"{osp.join(prefix['img_path2'], name)} has no date-A "
                    f"partner in {prefix['img_path']}.")
        return data_list


@DATASETS.register_module()
class CDDDataset(PairCheckMixin, BaseCDDataset):
    """CDD, the season-varying change detection dataset (Lebedev et al.,
    2018), real subset: 256x256 JPEG tiles in ``{train,val,test}/A``,
    ``.../B`` and ``.../OUT`` (labels 0/255, binarised by
    :class:`LoadChangeAnnotation`).

    Args:
        img_suffix (str): Suffix of date-A images. Defaults to '.jpg'.
        img_suffix2 (str): Suffix of date-B images. Defaults to '.jpg'.
        seg_map_suffix (str): Suffix of labels. Defaults to '.jpg'.
        **kwargs: :class:`BaseCDDataset` arguments (``data_root``,
            ``data_prefix=dict(img_path=..., img_path2=...,
            seg_map_path=...)``, ``pipeline``, ...).
    """
    METAINFO = dict(classes=('unchanged', 'changed'),
                    palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, img_suffix: str = '.jpg', img_suffix2: str = '.jpg',
                 seg_map_suffix: str = '.jpg', **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, img_suffix2=img_suffix2,
                         seg_map_suffix=seg_map_suffix, **kwargs)


@DATASETS.register_module()
class PairedLEVIRCDDataset(PairCheckMixin, LEVIRCDDataset):
    """mmseg's LEVIR-CD dataset (PNG ``{train,val,test}/{A,B,label}``),
    with the partner and label checks of :class:`PairCheckMixin`."""
