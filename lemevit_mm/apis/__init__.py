"""Using lemevit-mm from Python: the train/test glue of ``tools/`` and
scene-scale inference on rasters (``tools/infer.py``)."""
from .inference import (ChangeInferencer, ClassificationInferencer,
                        RotatedDetectionInferencer, SceneInferencer,
                        SegmentationInferencer, build_inferencer,
                        build_model_from_config, load_model, task_of)
from .runner import (add_dump_results, drop_amp, enable_visualization,
                     init_distributed_on_cpu, iter_config_dicts,
                     make_resume_exact, merge_cfg_options,
                     use_amp_only_with_gpu, use_plain_bn_on_cpu, setup_task)
from .tiling import StreamingBlender, blend_window, tile_grid, tile_starts

__all__ = [
    'ChangeInferencer', 'ClassificationInferencer',
    'RotatedDetectionInferencer', 'SceneInferencer',
    'SegmentationInferencer', 'build_inferencer', 'build_model_from_config',
    'load_model', 'task_of', 'add_dump_results', 'drop_amp',
    'enable_visualization', 'init_distributed_on_cpu', 'iter_config_dicts',
    'make_resume_exact', 'merge_cfg_options', 'use_amp_only_with_gpu',
    'use_plain_bn_on_cpu', 'setup_task', 'StreamingBlender', 'blend_window',
    'tile_grid', 'tile_starts'
]
