"""The scores remote-sensing segmentation papers report."""
from collections import OrderedDict
from typing import Dict, List

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

    Returns ``OA``, ``mF1`` and ``mIoU``, in percent.

    Args:
        **kwargs: Passed to :class:`mmseg.evaluation.IoUMetric`, except
            ``iou_metrics`` which is fixed to ``['mIoU', 'mFscore']``.
    """

    def __init__(self, **kwargs) -> None:
        if 'iou_metrics' in kwargs:
            raise ValueError('OverallAccuracyF1Metric always computes mIoU '
                             'and mFscore; do not pass iou_metrics.')
        super().__init__(iou_metrics=['mIoU', 'mFscore'], **kwargs)

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Compute OA, mF1 and mIoU from the per-image class areas."""
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        return OrderedDict(OA=float(metrics['aAcc']),
                           mF1=float(metrics['mFscore']),
                           mIoU=float(metrics['mIoU']))
