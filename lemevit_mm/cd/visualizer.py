"""Pictures of change-detection results: date A, date B, truth, prediction.
"""
from typing import Optional

import mmcv
import numpy as np
from mmengine import fileio
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

# Prediction colours: correct change, false alarm, missed change.
TRUE_CHANGE = (255, 255, 255)
FALSE_ALARM = (255, 0, 0)
MISSED = (0, 160, 255)


@VISUALIZERS.register_module()
class ChangeLocalVisualizer(SegLocalVisualizer):
    """Draws a change-detection sample as four panels side by side: date A,
    date B (read from ``img_path2`` of the sample), the ground-truth mask
    (white = changed) and the prediction (white = correctly detected
    change, red = false alarm, blue = missed change; black elsewhere).
    Without a ground truth the prediction is plain white/black.

    Works with mmseg's ``SegVisualizationHook`` (which passes date A as
    ``image``). Arguments are those of :class:`SegLocalVisualizer`, plus:

    Args:
        gap (int): Width in pixels of the grey gap between panels.
            Defaults to 4.
        changed_index (int): Label of the changed class. Defaults to 1.
        backend_args (dict, optional): File backend arguments for reading
            date B. Defaults to None.
    """

    def __init__(self, name: str = 'visualizer', gap: int = 4,
                 changed_index: int = 1,
                 backend_args: Optional[dict] = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.gap = gap
        self.changed_index = changed_index
        self.backend_args = backend_args

    def _mask(self, data_sample: SegDataSample, key: str,
              shape: tuple) -> Optional[np.ndarray]:
        if key not in data_sample:
            return None
        mask = data_sample.get(key).data.squeeze(0).cpu().numpy()
        if mask.shape != shape:
            mask = mmcv.imresize(mask.astype(np.uint8), shape[::-1],
                                 interpolation='nearest')
        return mask == self.changed_index

    def draw_change_panels(self, image_a: np.ndarray, image_b: np.ndarray,
                           data_sample: SegDataSample, draw_gt: bool = True,
                           draw_pred: bool = True) -> np.ndarray:
        """Return the panels (both dates, then the truth and the prediction
        where asked for and present) as one RGB image."""
        shape = image_a.shape[:2]
        if image_b.shape[:2] != shape:
            image_b = mmcv.imresize(image_b, shape[::-1])
        truth = self._mask(data_sample, 'gt_sem_seg', shape) \
            if draw_gt else None
        pred = self._mask(data_sample, 'pred_sem_seg', shape) \
            if draw_pred else None
        panels = [image_a, image_b]
        if truth is not None:
            panels.append(np.repeat(truth[..., None] * 255, 3,
                                    axis=2).astype(np.uint8))
        if pred is not None:
            drawn = np.zeros((*shape, 3), np.uint8)
            if truth is None:
                drawn[pred] = TRUE_CHANGE
            else:
                drawn[pred & truth] = TRUE_CHANGE
                drawn[pred & ~truth] = FALSE_ALARM
                drawn[~pred & truth] = MISSED
            panels.append(drawn)
        gap = np.full((shape[0], self.gap, 3), 128, np.uint8)
        row = [panels[0]]
        for panel in panels[1:]:
            row += [gap, panel]
        return np.concatenate(row, axis=1)

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       with_labels: Optional[bool] = True) -> None:
        """Draw date A (``image``), date B, truth and prediction; show,
        write to ``out_file`` or send to the visualisation backends."""
        if data_sample is None or 'img_path2' not in data_sample:
            raise ValueError(
                'ChangeLocalVisualizer needs the date-B path: add '
                "'img_path2' to the meta_keys of PackSegInputs.")
        data_sample = data_sample.cpu()
        image_b = mmcv.imfrombytes(
            fileio.get(data_sample.img_path2, backend_args=self.backend_args),
            channel_order='rgb')
        drawn = self.draw_change_panels(image, image_b, data_sample,
                                        draw_gt, draw_pred)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
