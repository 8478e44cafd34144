"""lemevit-mm: LeMeViT for OpenMMLab.

``import lemevit_mm`` (or ``custom_imports=dict(imports=['lemevit_mm'])``
in a config) registers the ``LeMeViT`` backbone and this project's task
parts in MMEngine's root registries, where mmpretrain, mmsegmentation,
mmdet and mmrotate configs find them, and makes MMEngine load local
checkpoints weights-only.

That needs torch, mmengine and mmcv (``mmcv-lite`` does). A task part whose
OpenMMLab package does not import is skipped
(:func:`skipped_task_parts` says why); a config that uses one of its
classes then fails with an error naming the package to install.

Without torch or mmengine (a deploy-only environment: numpy, rasterio and
ONNX Runtime or OpenVINO), nothing is registered and the torch-free parts
still import: the raster and tiling modules, the scene pipeline and
:mod:`lemevit_mm.deploy`, which runs exported models
(``python -m lemevit_mm.deploy``).
"""
from typing import Dict

from .version import __version__

try:
    import mmengine  # noqa: F401
    import torch  # noqa: F401
except ImportError as _error:
    #: Why nothing was registered (None: all was).
    DEPLOY_ONLY = f'{_error.name or "torch"} does not import'
else:
    DEPLOY_ONLY = None

if DEPLOY_ONLY is None:
    from .utils.checkpoint import register_weights_only_loader
    from .utils.config_scopes import register_renamed_scopes

    register_weights_only_loader()
    # `mmseg::` config bases also under the OneDL fork's distribution name
    register_renamed_scopes()

    # registration of the backbone, hooks and file backends
    from . import datasets, engine, models  # noqa: E402,F401
    from .utils.task_parts import (import_task_parts,  # noqa: E402
                                   skipped_task_parts)

    # the task parts whose OpenMMLab packages import
    import_task_parts()
else:

    def skipped_task_parts() -> Dict[str, str]:
        """Every task part: this environment has no torch/mmengine."""
        return {part: DEPLOY_ONLY for part in ('cls', 'seg', 'det', 'cd')}


__all__ = ['__version__', 'skipped_task_parts', 'DEPLOY_ONLY']
