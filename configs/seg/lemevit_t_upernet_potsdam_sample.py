# LeMeViT-tiny UperNet, unchanged, on the synthetic Potsdam sample
# (tools/dataset_converters/potsdam.py --synthetic): small tiles and crops,
# a short schedule and no worker processes, for a CPU. Used by the demo
# (tools/demo.py) and the tests.
_base_ = ['./lemevit_t_upernet_potsdam.py']

data_root = 'data/potsdam_sample'
tile_scale = (128, 128)
crop_size = (96, 96)
max_iters = 60
warmup_iters = 10


def _rescaled(pipeline: list) -> list:
    """mmseg's Potsdam pipeline, resized for the sample's tiles."""
    steps = []
    for step in pipeline:
        step = dict(step)
        if step['type'] in ('Resize', 'RandomResize'):
            step['scale'] = tile_scale
        if step['type'] == 'RandomCrop':
            step['crop_size'] = crop_size
        steps.append(step)
    return steps


train_pipeline = _rescaled(_base_.train_pipeline)
test_pipeline = _rescaled(_base_.test_pipeline)

model = dict(
    data_preprocessor=dict(size=crop_size),
    test_cfg=dict(crop_size=crop_size, stride=(64, 64)))

train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False,
         begin=warmup_iters, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
