# The LeMeViT UperNet recipe shared by the dataset bases
# (lemevit_upernet_{potsdam,isaid,loveda}.py): UperNet + FCN auxiliary head
# on LeMeViT, the recipe of the LeMeViT paper (IJCAI 2024), on mmseg's own
# UperNet, runtime and 80k-schedule configs. A dataset base adds the mmseg
# dataset config (after this file: see import_lemevit_mm.py), the classes,
# crop size and slide stride; the variant configs choose the backbone arch
# and take the heads' in_channels from `lemevit_dense_channels`.
_base_ = [
    '../../_base_/import_lemevit_mm.py',  # first: see that file
    'mmseg::_base_/models/upernet_r50.py',
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

model = dict(
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
    decode_head=dict(loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=dict(in_index=2, loss_decode=dict(avg_non_ignore=True)))

# Batch 8 in total: 2 images per GPU on 4 GPUs (the dataset bases set
# batch_size=2).
auto_scale_lr = dict(enable=False, base_batch_size=8)

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
