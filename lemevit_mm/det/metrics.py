"""DOTA metric that also returns the AP of every class."""
import importlib
from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from multiprocessing import dummy
from typing import Iterator, Sequence

from mmengine.logging import MMLogger
from mmrotate.evaluation import DOTAMetric, eval_rbbox_map
from mmrotate.registry import METRICS

# The module whose process pool ``eval_rbbox_map`` creates.
mean_ap_module = importlib.import_module(
    'mmrotate.evaluation.functional.mean_ap')


class _ThreadContext:
    """Stands in for ``multiprocessing.get_context('spawn')``: its
    ``Pool`` is a pool of threads of this process."""
    Pool = staticmethod(dummy.Pool)


@contextmanager
def _ap_in_this_process() -> Iterator[None]:
    """Make mmrotate's ``eval_rbbox_map`` use threads instead of spawning
    processes, which costs seconds of imports per evaluation."""
    original = mean_ap_module.get_context
    mean_ap_module.get_context = lambda method=None: _ThreadContext
    try:
        yield
    finally:
        mean_ap_module.get_context = original


@METRICS.register_module()
class DOTAClassAPMetric(DOTAMetric):
    """mmrotate's ``DOTAMetric`` (VOC-style mAP of rotated boxes; with
    ``merge_patches=True`` the Task1 submission files and their zip),
    whose results also hold the AP of every class that has ground truth.

    For each IoU threshold ``t`` (default 0.5) the results are ``APt``
    (e.g. ``AP50``), the mean over the classes present, and
    ``APt_<class>``; ``mAP`` averages ``APt`` over the thresholds. The
    per-class table (gts, dets, recall, ap) is logged as by mmrotate.

    Args:
        nproc (int): Worker processes of the AP computation (mmrotate
            spawns a process pool of this size); 1 computes it in this
            process. Defaults to 4.
        **kwargs: Arguments of :class:`mmrotate.evaluation.DOTAMetric`.
    """

    def __init__(self, nproc: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        if nproc < 1:
            raise ValueError(f'nproc must be >= 1, got {nproc}')
        self.nproc = nproc

    def compute_metrics(self, results: list) -> dict:
        """Compute mAP and per-class AP, or write the formatted results
        (``format_only``/``merge_patches``) as the parent does."""
        if self.merge_patches or self.format_only or self.metric != 'mAP':
            return super().compute_metrics(results)
        logger = MMLogger.get_current_instance()
        gts, preds = zip(*results)
        dets = [pred['pred_bbox_scores'] for pred in preds]
        classes = self.dataset_meta['classes']
        metrics = OrderedDict(mAP=0.)
        mean_aps = []
        for iou_thr in self.iou_thrs:
            logger.info(f'\n{"-" * 15}iou_thr: {iou_thr}{"-" * 15}')
            with (_ap_in_this_process() if self.nproc == 1 else
                  nullcontext()):
                mean_ap, per_class = eval_rbbox_map(
                    dets, gts, scale_ranges=self.scale_ranges,
                    iou_thr=iou_thr, use_07_metric=self.use_07_metric,
                    box_type=self.predict_box_type, dataset=classes,
                    logger=logger, nproc=self.nproc)
            name = f'AP{round(iou_thr * 100):02d}'
            mean_aps.append(mean_ap)
            metrics[name] = round(float(mean_ap), 4)
            for class_name, result in zip(classes, per_class):
                if result['num_gts'] > 0:
                    metrics[f'{name}_{class_name}'] = round(
                        float(result['ap']), 4)
        metrics['mAP'] = round(float(sum(mean_aps) / len(mean_aps)), 4)
        return metrics


@METRICS.register_module()
class RotatedVOCMetric(DOTAClassAPMetric):
    """VOC-style AP of rotated boxes under several AP rules at once, as
    DIOR-R and HRSC2016 results are reported.

    ``voc07`` is the 11-point interpolated AP of PASCAL VOC 2007 (the
    precision envelope at recall 0, 0.1, ..., 1, averaged); ``voc12`` the
    area under the precision envelope (VOC 2010-2012, "area"). For each
    rule ``r`` the results hold ``mAP_r``, ``AP50_r`` and ``AP50_r_<class>``
    (the keys of :class:`DOTAClassAPMetric` with the rule appended);
    ``mAP`` is that of the first rule.

    Args:
        ap_rules (Sequence[str]): Rules to report, the first one as
            ``mAP``. Defaults to ('voc07', 'voc12').
        **kwargs: Arguments of :class:`DOTAClassAPMetric` (not
            ``use_07_metric``, which ``ap_rules`` sets).
    """
    RULES = dict(voc07=True, voc12=False)  # mmrotate's use_07_metric

    def __init__(self, ap_rules: Sequence[str] = ('voc07', 'voc12'),
                 **kwargs) -> None:
        if 'use_07_metric' in kwargs:
            raise ValueError('RotatedVOCMetric: give ap_rules, not '
                             'use_07_metric.')
        unknown = [rule for rule in ap_rules if rule not in self.RULES]
        if not ap_rules or unknown:
            raise ValueError(f'ap_rules must be some of {list(self.RULES)},'
                             f' got {list(ap_rules)}')
        super().__init__(**kwargs)
        self.ap_rules = tuple(ap_rules)

    def compute_metrics(self, results: list) -> dict:
        """The metrics of every rule; formatting as the parent does."""
        if self.merge_patches or self.format_only or self.metric != 'mAP':
            return super().compute_metrics(results)
        metrics = OrderedDict(mAP=0.)
        for rule in self.ap_rules:
            self.use_07_metric = self.RULES[rule]
            for key, value in super().compute_metrics(results).items():
                # mAP -> mAP_voc07, AP50_ship -> AP50_voc07_ship
                head, _, class_name = key.partition('_')
                key = f'{head}_{rule}' + (f'_{class_name}'
                                          if class_name else '')
                metrics[key] = value
        metrics['mAP'] = metrics[f'mAP_{self.ap_rules[0]}']
        return metrics
