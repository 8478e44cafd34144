"""mmpretrain's ``ImageClassifier`` that also reads the authors' files."""
from mmengine.registry import MODELS
from mmpretrain.models.classifiers import ImageClassifier

from ..models.official_checkpoint import (CONVERTER,
                                          convert_official_classifier,
                                          looks_official, nested_official)


@MODELS.register_module()
class LeMeViTClassifier(ImageClassifier):
    """An ``ImageClassifier`` that loads the authors' LeMeViT checkpoints.

    It is mmpretrain's ``ImageClassifier`` (same arguments, same outputs);
    the only addition is that a state dict in the authors' layout
    (``downsample_layers.*``, ``stages.i.j.*``, ``norm.*``, ``norm_c.*``,
    ``head.*``) is renamed on the fly, so ``load_from``, ``tools/test.py``
    and ``mmengine.runner.load_checkpoint`` accept the released files
    directly and give the same result as a file converted by
    ``tools/model_converters/lemevit_official.py`` (both through
    :mod:`lemevit_mm.models.official_checkpoint`). Its config:
    :func:`~lemevit_mm.models.lemevit_classifier.lemevit_classifier`
    (``backbone=dict(type='LeMeViT', out_indices=(4, ),
    out_meta_tokens=True)``, ``neck=dict(type='LeMeViTPooling')``,
    ``head=dict(type='LinearClsHead')``).
    """

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        own = {key[len(prefix):]: key for key in state_dict
               if key.startswith(prefix)}
        wrapper = nested_official(
            {name: state_dict[key] for name, key in own.items()})
        if wrapper is not None:
            raise ValueError(
                f'This checkpoint keeps authors\'-layout LeMeViT weights '
                f'under {wrapper!r}; convert it first with `python '
                f'{CONVERTER} SRC DST` (which picks the EMA copy if any) '
                'and load DST.')
        if own and looks_official(own):
            local = {name: state_dict.pop(key) for name, key in own.items()}
            for name, value in convert_official_classifier(local).items():
                state_dict[prefix + name] = value
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)
