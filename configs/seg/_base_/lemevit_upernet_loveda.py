# UperNet + FCN auxiliary head on LeMeViT, LoveDA (7 classes; urban and
# rural scenes; 1024x1024 images): mmseg's own UperNet, LoveDA dataset,
# runtime and 80k-schedule configs, with the LeMeViT segmentation recipe
# of lemevit_upernet_potsdam.py (AdamW lr 4e-4, weight decay 0.05, 1500
# warm-up iterations then poly decay, batch 8 = 4 GPUs x 2, 512x512
# crops, slide inference). Scored by mIoU (mmseg's IoUMetric) on the val
# split; the test split by the benchmark's server (see
# lemevit_t_upernet_loveda_test.py). The variant configs set the arch.
#
# Data (`python tools/dataset_converters/loveda.py SRC data/loveDA`):
#   data/loveDA/img_dir/{train,val,test}/*.png  ann_dir/{train,val}/*.png
#   data/loveDA/meta/{train,val,test}_{urban,rural}.txt  (one domain)
_base_ = [
    '../../_base_/import_lemevit_mm.py',  # first: see that file
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/loveda.py',
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

dataset_type = 'CheckedLoveDADataset'
data_root = 'data/loveDA'
num_classes = 7
crop_size = (512, 512)
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
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(384, 384)))

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
