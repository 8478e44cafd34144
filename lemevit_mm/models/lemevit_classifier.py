"""The authors' LeMeViT classifier, described once.

The classifier of the paper is the backbone run to its last stage with
the meta tokens returned, :class:`~lemevit_mm.models.necks.LeMeViTPooling`
(which normalises and pools the map and the meta tokens) and one linear
layer. :func:`lemevit_classifier` gives it as an mmpretrain
``ImageClassifier`` config; :func:`lemevit_backbone` builds the backbone
part alone. The configs under ``configs/cls``, the analysis tools'
presets, the plain reference classifier (without mmpretrain) and the
checkpoint converter all build from these, so the parameter names of the
authors' checkpoints (:mod:`~lemevit_mm.models.official_checkpoint`) fit
every one.
"""
import copy
from typing import Any, Dict, Union

ArchSetting = Union[str, Dict[str, Any]]

# What the classifier needs of the backbone: the last map and the meta
# tokens after it.
CLASSIFIER_BACKBONE = dict(out_indices=(4, ), out_meta_tokens=True)


def last_width(arch: ArchSetting) -> int:
    """The width of the last stage of ``arch`` (what the neck pools and
    the head reads)."""
    from .backbones.lemevit import LeMeViT
    return int(LeMeViT.parse_arch(arch)['embed_dims'][-1])


def lemevit_classifier(arch: ArchSetting = 'tiny',
                       num_classes: int = 1000,
                       classifier: str = 'LeMeViTClassifier',
                       head: str = 'LinearClsHead',
                       **backbone: Any) -> dict:
    """The config of the authors' LeMeViT classifier.

    Args:
        arch (str | dict): A LeMeViT arch. Defaults to 'tiny'.
        num_classes (int): Defaults to 1000.
        classifier (str): The classifier type: ``'LeMeViTClassifier'``
            (which also loads the authors' files) or mmpretrain's
            ``'ImageClassifier'`` (same parameters and outputs), with a
            scope prefix if needed. Defaults to 'LeMeViTClassifier'.
        head (str): The head type. Defaults to 'LinearClsHead'.
        **backbone: More arguments of :class:`LeMeViT` (e.g.
            ``drop_path_rate``).

    Returns:
        dict: ``dict(type=classifier, backbone=..., neck=..., head=...)``.
    """
    width = last_width(arch)
    return dict(
        type=classifier,
        backbone=dict(type='LeMeViT', arch=copy.deepcopy(arch),
                      **CLASSIFIER_BACKBONE, **backbone),
        neck=dict(type='LeMeViTPooling', in_channels=width),
        head=dict(type=head, num_classes=num_classes, in_channels=width))


def lemevit_backbone(arch: ArchSetting = 'tiny', **backbone: Any):
    """The backbone of :func:`lemevit_classifier`, built (a
    :class:`LeMeViT` returning the last map and the meta tokens)."""
    from .backbones.lemevit import LeMeViT
    cfg = lemevit_classifier(arch, **backbone)['backbone']
    cfg.pop('type')
    return LeMeViT(**cfg)
