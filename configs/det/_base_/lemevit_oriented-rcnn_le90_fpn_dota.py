# Oriented R-CNN (le90, FPN) with a LeMeViT backbone on DOTA-v1.0 split
# into 1024x1024 patches (gap 200): mmrotate's own config, with the
# LeMeViT recipe (AdamW lr 1e-3, weight decay 0.05, 12 epochs, batch 8 in
# total = 4 GPUs x 2). The variant configs set the backbone `arch` (the
# FPN reads its input widths from it) and the pretrained checkpoint.
_base_ = ['mmrotate::oriented_rcnn/oriented-rcnn-le90_r50_fpn_1x_dota.py']

custom_imports = dict(imports=['lemevit_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='LeMeViT',
        arch='tiny',
        out_indices=(1, 2, 3, 4),
        drop_path_rate=0.1,  # our choice: the paper does not state it
        init_cfg=None),
    neck=dict(
        _delete_=True,
        type='LeMeViTFPN',
        arch='tiny',
        out_channels=256,
        num_outs=5))

# Data: `python tools/dataset_converters/dota.py split data/DOTA
# data/split_ss_dota` writes train/, val/ and test/ patch folders. The
# published models train on train+val; `tools/test.py` scores the val
# split (DOTA mAP, VOC 11-point, IoU 0.5, per-class AP).
data_root = 'data/split_ss_dota/'
dataset_type = 'CheckedDOTADataset'
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(type=dataset_type, data_root=data_root,
                 ann_file=f'{split}/annfiles/',
                 data_prefix=dict(img_path=f'{split}/images/'),
                 img_shape=(1024, 1024),
                 filter_cfg=dict(filter_empty_gt=True),
                 pipeline={{_base_.train_pipeline}})
            for split in ('train', 'val')
        ]))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val/annfiles/',
        data_prefix=dict(img_path='val/images/')))
test_dataloader = val_dataloader

val_evaluator = dict(type='DOTAClassAPMetric', metric='mAP')
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(
        _delete_=True,
        type='AdamW',
        lr=1e-3,
        betas=(0.9, 0.999),
        weight_decay=0.05))
# The learning rate is that of a total batch of 8.
auto_scale_lr = dict(enable=False, base_batch_size=8)
