# Oriented R-CNN + LeMeViT on DOTA-v1.5 (16 classes: DOTA-v1.0's and
# container-crane; the same images, with small objects annotated too):
# the DOTA-v1.0 recipe (lemevit_oriented-rcnn_le90_fpn_dota.py) on
# 1024x1024 patches (gap 200) of the v1.5 labels, read by
# CheckedDOTAv15Dataset (mmrotate's DOTAv15Dataset classes).
#
# Data: python tools/dataset_converters/dota.py split data/DOTA-v1.5 \
#     data/split_ss_dota1_5 --dataset dota1.5 --ann-subdir labelTxt-v1.5
_base_ = ['./lemevit_oriented-rcnn_le90_fpn_dota.py']

data_root = 'data/split_ss_dota1_5/'
dataset_type = 'CheckedDOTAv15Dataset'
num_classes = 16
model = dict(roi_head=dict(bbox_head=dict(num_classes=num_classes)))
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(type=dataset_type, data_root=data_root,
             ann_file=f'{split}/annfiles/',
             data_prefix=dict(img_path=f'{split}/images/'),
             img_shape=(1024, 1024),
             filter_cfg=dict(filter_empty_gt=True),
             pipeline={{_base_.train_pipeline}})
        for split in ('train', 'val')
    ]))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
