# UperNet + FCN auxiliary head on LeMeViT, iSAID (16 classes, background
# included, as mmseg scores it): mmseg's own UperNet, iSAID dataset (the
# 896x896 patches of its converter, random resize 0.5-2.0 and 896 crops),
# runtime and 80k-schedule configs, with the LeMeViT segmentation
# optimizer of lemevit_upernet_potsdam.py (AdamW lr 4e-4, weight decay
# 0.05, warm-up then poly decay, batch 8 = 4 GPUs x 2). Scored by mIoU
# on the val patches. The variant configs set the arch.
#
# Data (`python tools/dataset_converters/isaid.py SRC data/iSAID`):
#   data/iSAID/img_dir/{train,val,test}/  data/iSAID/ann_dir/{train,val}/
_base_ = [
    '../../_base_/import_lemevit_mm.py',  # first: see that file
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/isaid.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
from importlib import import_module  # noqa: E402  (a builtin module)

custom_imports = dict(imports=['lemevit_mm'], allow_failed_imports=False)

lemevit_dense_channels = {
    arch: setting['embed_dims'][1:]
    for arch, setting in import_module(
        'lemevit_mm.models.backbones.lemevit').LeMeViT.arch_zoo.items()
}

dataset_type = 'CheckediSAIDDataset'
data_root = 'data/iSAID'
num_classes = 16
crop_size = (896, 896)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='LeMeViT',
        out_indices=(1, 2, 3, 4),
        drop_path_rate=0.),
    decode_head=dict(
        num_classes=num_classes,
        loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=dict(
        in_index=2,
        num_classes=num_classes,
        loss_decode=dict(avg_non_ignore=True)),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(512, 512)))

train_dataloader = dict(
    batch_size=2,
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
auto_scale_lr = dict(enable=False, base_batch_size=8)

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
