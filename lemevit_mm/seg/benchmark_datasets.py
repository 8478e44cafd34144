"""LoveDA and iSAID: mmseg's datasets with checks of their files, and the
class-map submission of a test split.

- LoveDA (Wang et al. 2021): 1024x1024 PNG images of urban and rural
  scenes; labels 0 (no data, ignored) and 1-7 (background, building,
  road, water, barren, forest, agricultural), read with
  ``reduce_zero_label`` (mmseg's ``LoveDADataset``). The test split is
  scored by the benchmark's server from one PNG per image holding the
  class index 0-6: :class:`ClassMapSubmission` writes them.
- iSAID (Waqas Zamir et al. 2019): DOTA images cut into 896x896 patches
  (overlap 384) with label maps of 16 classes, background included
  (mmseg's ``iSAIDDataset``; 255 = padding, ignored).
"""
import os
import os.path as osp
import tempfile
import zipfile
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.datasets import LoveDADataset, iSAIDDataset
from mmseg.registry import DATASETS, METRICS
from PIL import Image


class LabelCheckMixin:
    """Rejects an empty image folder, images without a label map, and a
    loaded label map with ids outside the classes, naming the file.

    ``converter`` (the script preparing the data) is named in the
    messages. ``labelled=False`` (an unlabelled test split, e.g. for a
    submission) lists the images alone.
    """
    converter = ''

    def __init__(self, *args, labelled: bool = True, **kwargs) -> None:
        self.labelled = labelled
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        if not self.labelled:
            for info in data_list:
                info.pop('seg_map_path', None)
        img_dir = self.data_prefix.get('img_path', '')
        if not data_list:
            raise FileNotFoundError(
                f'{type(self).__name__}: no {self.img_suffix!r} image under '
                f'{img_dir!r}; prepare the data with {self.converter}.')
        missing = [info for info in data_list
                   if self.labelled and not osp.isfile(info['seg_map_path'])]
        if missing:
            raise FileNotFoundError(
                f'{type(self).__name__}: {len(missing)} of {len(data_list)} '
                f'images under {img_dir!r} have no label map, e.g. '
                f"{missing[0]['seg_map_path']} (for "
                f"{missing[0]['img_path']}).")
        return data_list

    def prepare_data(self, idx: int):
        data = super().prepare_data(idx)
        if data is not None and 'data_samples' in data and \
                'gt_sem_seg' in data['data_samples']:
            label = data['data_samples'].gt_sem_seg.data
            num_classes = len(self.metainfo['classes'])
            bad = (label >= num_classes) & (label != self.ignore_index)
            if bad.any():
                path = self.get_data_info(idx).get('seg_map_path')
                offset = int(self.reduce_zero_label)
                found = sorted({int(v) + offset
                                for v in torch.unique(label[bad])})
                raise ValueError(
                    f'{path}: label ids {found[:10]} are not classes of '
                    f'{type(self).__name__} ({self.raw_label_meaning}).')
        return data

    @property
    def raw_label_meaning(self) -> str:
        names = list(self.metainfo['classes'])
        if self.reduce_zero_label:
            names = ['no data (ignored)'] + names
        return ', '.join(f'{i} {name}' for i, name in enumerate(names))


@DATASETS.register_module()
class CheckedLoveDADataset(LabelCheckMixin, LoveDADataset):
    """mmseg's LoveDA (``img_dir/<split>/*.png``, ``ann_dir/<split>/*.png``,
    raw ids 0-7 with 0 ignored) with the file checks of
    :class:`LabelCheckMixin`. ``ann_file='meta/train_urban.txt'`` (and
    ``rural``), written by the converter, selects one domain."""
    converter = 'tools/dataset_converters/loveda.py'


@DATASETS.register_module()
class CheckediSAIDDataset(LabelCheckMixin, iSAIDDataset):
    """mmseg's iSAID patches (``img_dir/<split>/<id>_<y0>_<y1>_<x0>_<x1>.png``
    and ``ann_dir/<split>/..._instance_color_RGB.png`` holding class ids
    0-15, 255 padding) with the file checks of :class:`LabelCheckMixin`.
    """
    converter = 'tools/dataset_converters/isaid.py'


@METRICS.register_module()
class ClassMapSubmission(BaseMetric):
    """Writes the predicted class map of every test image as an 8-bit
    PNG named like the image (``<image name>.png``, values = the model's
    class indices, e.g. 0-6 for LoveDA as its server expects), and a zip
    of them, for a benchmark's evaluation server. Returns no score.

    Args:
        outfile_prefix (str): The PNGs go to ``outfile_prefix/`` and the
            zip to ``outfile_prefix.zip``; neither may exist.
        size_from_image (bool): Check that each map is as large as its
            image on file. Defaults to True.
    """
    default_prefix = 'submission'

    def __init__(self, outfile_prefix: str, size_from_image: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        for path in (outfile_prefix, outfile_prefix + '.zip'):
            if osp.exists(path):
                raise FileExistsError(
                    f'{path} exists already; choose another '
                    'outfile_prefix.')
        self.outfile_prefix = outfile_prefix
        self.size_from_image = size_from_image
        self._staging: Optional[str] = None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        if self._staging is None:
            parent = osp.dirname(osp.abspath(self.outfile_prefix))
            os.makedirs(parent, exist_ok=True)
            self._staging = tempfile.mkdtemp(prefix='.submission',
                                             dir=parent)
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data']
            pred = pred.squeeze(0).cpu().numpy().astype(np.uint8)
            img_path = sample['img_path']
            if self.size_from_image:
                with Image.open(img_path) as image:
                    width, height = image.size
                if pred.shape != (height, width):
                    raise ValueError(
                        f'{img_path}: the predicted map is {pred.shape} '
                        f'but the image is {(height, width)}; the test '
                        'pipeline must keep the image size.')
            name = osp.splitext(osp.basename(img_path))[0] + '.png'
            Image.fromarray(pred).save(osp.join(self._staging, name))
            self.results.append(name)

    def compute_metrics(self, results: list) -> dict:
        if self._staging is None:
            raise ValueError('no test image was predicted.')
        archive = self.outfile_prefix + '.zip'
        tmp = f'{archive}.tmp{os.getpid()}'
        with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as out:
            for name in sorted(results):
                out.write(osp.join(self._staging, name), name)
        os.replace(self._staging, self.outfile_prefix)
        os.replace(tmp, archive)
        self._staging = None
        print_log(f'Wrote {len(results)} class maps to '
                  f'{self.outfile_prefix}/ and {archive}',
                  logger=MMLogger.get_current_instance())
        return {}


__all__ = ['CheckedLoveDADataset', 'CheckediSAIDDataset',
           'ClassMapSubmission']
