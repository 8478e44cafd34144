"""lemevit-mm: LeMeViT for OpenMMLab.

``import lemevit_mm`` (or ``custom_imports=dict(imports=['lemevit_mm'])``
in a config) registers the ``LeMeViT`` backbone and this project's task
parts in MMEngine's root registries, where mmpretrain, mmsegmentation,
mmdet and mmrotate configs find them, and makes MMEngine load local
checkpoints weights-only.
"""
from .utils.checkpoint import register_weights_only_loader
from .utils.config_scopes import register_renamed_scopes
from .version import __version__

register_weights_only_loader()
# `mmseg::` config bases also under the OneDL fork's distribution name
register_renamed_scopes()

# registration of models, task parts, hooks and file backends
from . import cd, cls, det, engine, models, seg  # noqa: E402,F401

__all__ = ['__version__']
