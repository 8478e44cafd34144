"""Change-detection metric: precision, recall, F1, IoU of "changed", OA."""
from collections import OrderedDict
from typing import Dict, Sequence

import torch
from mmengine.logging import MMLogger, print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class ChangeDetectionMetric(IoUMetric):
    """Scores of the "changed" class from the summed confusion counts of
    the whole evaluation set (pixels labelled ``ignore_index`` skipped).

    Reports, in percent: ``precision``, ``recall``, ``F1`` and ``IoU`` of
    the changed class and the overall pixel accuracy ``OA``. A score whose
    denominator is zero (e.g. no changed pixel predicted) is 0.

    Note: the LeMeViT authors' published F1 averages per-batch F1 scores
    over the validation set; this metric pools the pixels instead (what
    their own ``eval.py`` does).

    Args:
        changed_index (int): Label of the changed class. Defaults to 1.
        **kwargs: :class:`mmseg.evaluation.IoUMetric` arguments
            (``ignore_index``, ``prefix``, ...).
    """

    def __init__(self, changed_index: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.changed_index = changed_index

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        if not 0 <= self.changed_index < num_classes:
            raise ValueError(
                f'changed_index={self.changed_index} is not a class of the '
                f"dataset {self.dataset_meta['classes']}.")
        super().process(data_batch, data_samples)

    @staticmethod
    def _ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> float:
        return float(numerator / denominator) * 100 if denominator else 0.

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Pool the per-image areas and score the changed class."""
        if self.format_only:
            return super().compute_metrics(results)
        intersect, union, predicted, labelled = (
            sum(area) for area in zip(*results))
        k = self.changed_index
        true_pos = intersect[k]
        precision = self._ratio(true_pos, predicted[k])
        recall = self._ratio(true_pos, labelled[k])
        f1 = (2 * precision * recall / (precision + recall)
              if precision + recall else 0.)
        metrics = OrderedDict(
            precision=precision,
            recall=recall,
            F1=f1,
            IoU=self._ratio(true_pos, union[k]),
            OA=self._ratio(intersect.sum(), labelled.sum()))
        metrics = OrderedDict((key, round(value, 2))
                              for key, value in metrics.items())
        print_log('change detection ("changed" class): ' + ', '.join(
            f'{key} {value:.2f}' for key, value in metrics.items()),
                  logger=MMLogger.get_current_instance())
        return metrics
