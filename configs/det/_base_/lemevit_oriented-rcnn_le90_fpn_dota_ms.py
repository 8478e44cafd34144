# Oriented R-CNN + LeMeViT on DOTA-v1.0, multi-scale: mmrotate's `ms`
# protocol (its dota_ms.py and split_configs/ms_*.json): patches cut at
# rates 0.5, 1.0 and 1.5 (windows of 2048, 1024 and 682 px, gaps 1000,
# 500 and 333), resized to 1024, and random rotation added to the flips
# (mmrotate's RandomRotate, prob 0.5, any angle; rectangles for the
# roundabout and storage-tank classes kept axis-aligned as mmrotate does).
# Otherwise the single-scale recipe of lemevit_oriented-rcnn_le90_fpn_dota.py.
# The test patches are cut at the same rates and the Task1 submission
# merges them (rotated NMS) onto the original images.
#
# Data: python tools/dataset_converters/dota.py split data/DOTA \
#     data/split_ms_dota --rates 0.5 1.0 1.5 --gap 500
_base_ = ['./lemevit_oriented-rcnn_le90_fpn_dota.py']

data_root = 'data/split_ms_dota/'
dataset_type = 'CheckedDOTADataset'
train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.Resize', scale=(1024, 1024), keep_ratio=True),
    dict(
        type='mmdet.RandomFlip',
        prob=0.75,
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(
        type='RandomRotate',
        prob=0.5,
        angle_range=180,
        rect_obj_labels=[9, 11]),
    dict(type='mmdet.PackDetInputs')
]
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(type=dataset_type, data_root=data_root,
             ann_file=f'{split}/annfiles/',
             data_prefix=dict(img_path=f'{split}/images/'),
             img_shape=None,  # patches of 3 sizes: read from their names
             filter_cfg=dict(filter_empty_gt=True),
             pipeline=train_pipeline)
        for split in ('train', 'val')
    ]))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, img_shape=None))
test_dataloader = val_dataloader
