"""The scores remote-sensing segmentation papers report."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class OverallAccuracyF1Metric(IoUMetric):
    """Overall accuracy, mean F1 and mIoU, from mmseg's ``IoUMetric``.

    The ISPRS benchmarks report the overall pixel accuracy (OA) and the F1
    score per class and its mean (mF1); mIoU is added for comparison with
    other mmseg results. mmseg's per-class table (IoU, Acc, Fscore =
    F1, Precision, Recall) is logged as usual. Pixels labelled
    ``ignore_index`` (the eroded boundary and, with a class subset such as
    the five scored Potsdam classes, the dropped classes) count nowhere;
    predictions only count on scored pixels.

    Returns ``OA``, ``mF1`` and ``mIoU``, in percent. A class that occurs
    but is never predicted has F1 0 (mmseg's ``Fscore`` would be NaN and
    drop out of the mean, inflating mF1); only a class absent from both
    labels and predictions is left out of the means.

    Args:
        **kwargs: Passed to :class:`mmseg.evaluation.IoUMetric`, except
            ``iou_metrics`` (fixed to ``['mIoU', 'mFscore']``) and ``beta``
            (1).
    """

    def __init__(self, **kwargs) -> None:
        for fixed in ('iou_metrics', 'beta'):
            if fixed in kwargs:
                raise ValueError(f'OverallAccuracyF1Metric fixes {fixed}; '
                                 'do not pass it.')
        super().__init__(iou_metrics=['mIoU', 'mFscore'], **kwargs)

    @staticmethod
    def total_area_to_metrics(total_area_intersect: torch.Tensor,
                              total_area_union: torch.Tensor,
                              total_area_pred_label: torch.Tensor,
                              total_area_label: torch.Tensor,
                              metrics: Sequence[str] = ('mIoU', ),
                              nan_to_num: Optional[int] = None,
                              beta: int = 1) -> dict:
        """mmseg's per-class metrics, with F1 = 2 TP / (predicted + true
        pixels), which is 0 rather than NaN for a never-predicted class.
        """
        if beta != 1:
            raise ValueError(f'F1 has beta 1, got beta={beta}.')
        results = IoUMetric.total_area_to_metrics(
            total_area_intersect, total_area_union, total_area_pred_label,
            total_area_label, metrics, nan_to_num, beta)
        if 'Fscore' in results:
            f1 = (2 * total_area_intersect /
                  (total_area_pred_label + total_area_label)).numpy()
            if nan_to_num is not None:
                f1 = np.nan_to_num(f1, nan=nan_to_num)
            results['Fscore'] = f1
        return results

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Compute OA, mF1 and mIoU from the per-image class areas."""
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        return OrderedDict(OA=float(metrics['aAcc']),
                           mF1=float(metrics['mFscore']),
                           mIoU=float(metrics['mIoU']))
