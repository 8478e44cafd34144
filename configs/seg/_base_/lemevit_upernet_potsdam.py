# UperNet + FCN auxiliary head on LeMeViT, ISPRS Potsdam, 80k iterations:
# the recipe of the LeMeViT paper (IJCAI 2024), on mmseg's own UperNet,
# Potsdam dataset, runtime and 80k-schedule configs. The variant configs
# (lemevit_{t,s,b}_upernet_potsdam.py) choose the backbone arch and take
# the heads' in_channels from `lemevit_dense_channels`.
_base_ = [
    '../../_base_/import_lemevit_mm.py',  # first: see that file
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/potsdam.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
from importlib import import_module  # noqa: E402  (a builtin module)

custom_imports = dict(imports=['lemevit_mm'], allow_failed_imports=False)

# Channels of the four dense LeMeViT maps (strides 4, 8, 16, 32) for each
# arch name, read from the backbone's arch table.
lemevit_dense_channels = {
    arch: setting['embed_dims'][1:]
    for arch, setting in import_module(
        'lemevit_mm.models.backbones.lemevit').LeMeViT.arch_zoo.items()
}

# The five classes scored on Potsdam; clutter is mapped to the ignore
# index (255) like the eroded boundary, in training and evaluation.
scored_classes = ('impervious_surface', 'building', 'low_vegetation',
                  'tree', 'car')
num_classes = len(scored_classes)

crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='LeMeViT',
        out_indices=(1, 2, 3, 4),
        drop_path_rate=0.,
        # A backbone pretrained as a classifier (an authors' file, or a
        # checkpoint of configs/cls with prefix='backbone.'; the classifier
        # head weights are ignored):
        # init_cfg=dict(type='Pretrained', checkpoint='lemevit_t.pth'),
    ),
    # Losses averaged over the labelled (non-ignored) pixels, as the
    # authors trained.
    decode_head=dict(
        num_classes=num_classes,
        loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=dict(
        in_index=2,
        num_classes=num_classes,
        loss_decode=dict(avg_non_ignore=True)),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(384, 384)))

# Batch 8 in total: 2 images per GPU on 4 GPUs.
train_dataloader = dict(
    batch_size=2,
    dataset=dict(type='CheckedPotsdamDataset',
                 metainfo=dict(classes=scored_classes)))
val_dataloader = dict(
    dataset=dict(type='CheckedPotsdamDataset',
                 metainfo=dict(classes=scored_classes)))
test_dataloader = val_dataloader
auto_scale_lr = dict(enable=False, base_batch_size=8)

val_evaluator = dict(_delete_=True, type='OverallAccuracyF1Metric')
test_evaluator = val_evaluator

# AdamW, lr 4e-4, weight decay 0.05; 1500 linear warm-up iterations from
# 1e-6 of the lr, then poly (power 1) decay to 0 at 80k iterations.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-4, betas=(0.9, 0.999),
                   weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
         end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500,
         end=80000),
]
