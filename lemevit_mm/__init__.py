"""lemevit-mm: LeMeViT for OpenMMLab.

``import lemevit_mm`` (or ``custom_imports=dict(imports=['lemevit_mm'])``
in a config) registers the ``LeMeViT`` backbone and this project's task
parts in MMEngine's root registries, where mmpretrain, mmsegmentation,
mmdet and mmrotate configs find them, and makes MMEngine load local
checkpoints weights-only.

It needs torch, mmengine and mmcv (``mmcv-lite`` does). A task part whose
OpenMMLab package does not import is skipped
(:func:`skipped_task_parts` says why); a config that uses one of its
classes then fails with an error naming the package to install.
"""
from .utils.checkpoint import register_weights_only_loader
from .utils.config_scopes import register_renamed_scopes
from .version import __version__

register_weights_only_loader()
# `mmseg::` config bases also under the OneDL fork's distribution name
register_renamed_scopes()

# registration of the backbone, hooks and file backends
from . import datasets, engine, models  # noqa: E402,F401
from .utils.task_parts import (import_task_parts,  # noqa: E402
                               skipped_task_parts)

# the task parts whose OpenMMLab packages import
import_task_parts()

__all__ = ['__version__', 'skipped_task_parts']
