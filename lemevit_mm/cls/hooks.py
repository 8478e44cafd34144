"""mmpretrain's EMA hook, accepting the authors' bare state dicts."""
import copy

from mmengine.registry import HOOKS
from mmengine.runner.checkpoint import load_state_dict
from mmpretrain.engine.hooks import EMAHook

from ..models.official_checkpoint import CONVERTER, looks_official


@HOOKS.register_module()
class LeMeViTEMAHook(EMAHook):
    """mmpretrain's ``EMAHook`` (same arguments) that also accepts a
    checkpoint which is a bare state dict, as the authors' released files
    are: the EMA copy then starts from those weights, as it does from the
    ``state_dict`` of an MMEngine checkpoint. (mmpretrain's hook fails
    with ``KeyError: 'state_dict'`` on such files.) An authors' file with
    a ``state_dict_ema`` copy is refused with a pointer to the converter,
    because MMEngine would silently load its non-EMA ``state_dict``."""

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        ema = checkpoint.get('state_dict_ema')
        if isinstance(ema, dict) and looks_official(ema):
            raise ValueError(
                'This authors\' LeMeViT checkpoint has a state_dict_ema copy '
                'that MMEngine would ignore; convert it with `python '
                f'{CONVERTER} SRC DST` (which picks the EMA weights) and '
                'load DST.')
        if 'ema_state_dict' in checkpoint or 'state_dict' in checkpoint:
            super().after_load_checkpoint(runner, checkpoint)
            return
        load_state_dict(self.ema_model.module, copy.deepcopy(checkpoint),
                        strict=self.strict_load)
