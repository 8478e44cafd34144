"""Using lemevit-mm from Python: the train/test glue of ``tools/`` and
scene-scale inference on rasters (``tools/infer.py``).

Importing the package needs no torch: the scene pipeline is numpy and
rasterio; the names that need torch and MMEngine (model loading, the
runner glue) are imported on first use.
"""
from .inference import (ChangeInferencer, ClassificationInferencer,
                        InferOptions, ModelInfo, RotatedDetectionInferencer,
                        SceneInferencer, SceneResult, SegmentationInferencer,
                        build_inferencer, inferencer_class)
from .tiling import StreamingBlender, blend_window, tile_grid, tile_starts

__all__ = [
    'ChangeInferencer', 'ClassificationInferencer',
    'RotatedDetectionInferencer', 'SceneInferencer',
    'SegmentationInferencer', 'build_inferencer', 'inferencer_class',
    'InferOptions', 'ModelInfo', 'SceneResult', 'TorchModel',
    'build_model_from_config', 'load_model', 'task_of', 'add_dump_results',
    'drop_amp', 'enable_visualization', 'init_distributed_on_cpu',
    'iter_config_dicts', 'make_resume_exact', 'merge_cfg_options',
    'use_amp_only_with_gpu', 'use_plain_bn_on_cpu', 'setup_task',
    'StreamingBlender', 'blend_window', 'tile_grid', 'tile_starts'
]

# names that need torch / MMEngine, imported on first use (PEP 562)
_LAZY = dict(
    build_model_from_config='loading', load_model='loading',
    task_of='loading', TorchModel='loading', add_dump_results='runner',
    drop_amp='runner', enable_visualization='runner',
    init_distributed_on_cpu='runner', iter_config_dicts='runner',
    make_resume_exact='runner', merge_cfg_options='runner',
    use_amp_only_with_gpu='runner', use_plain_bn_on_cpu='runner',
    setup_task='runner')


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f'.{_LAZY[name]}', __name__)
        return getattr(module, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
