"""mmpretrain's EMA hook, accepting the authors' bare state dicts."""
import copy

from mmengine.registry import HOOKS
from mmengine.runner.checkpoint import load_state_dict
from mmpretrain.engine.hooks import EMAHook


@HOOKS.register_module()
class LeMeViTEMAHook(EMAHook):
    """mmpretrain's ``EMAHook`` (same arguments) that also accepts a
    checkpoint which is a bare state dict, as the authors' released files
    are: the EMA copy then starts from those weights, as it does from the
    ``state_dict`` of an MMEngine checkpoint. (mmpretrain's hook fails
    with ``KeyError: 'state_dict'`` on such files.)"""

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'ema_state_dict' in checkpoint or 'state_dict' in checkpoint:
            super().after_load_checkpoint(runner, checkpoint)
            return
        load_state_dict(self.ema_model.module, copy.deepcopy(checkpoint),
                        strict=self.strict_load)
