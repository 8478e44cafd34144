# Oriented R-CNN + LeMeViT on DOTA-v2.0 (18 classes: DOTA-v1.5's,
# airport and helipad; more images, from Google Earth, GF-2 and JL-1):
# the DOTA-v1.0 recipe (lemevit_oriented-rcnn_le90_fpn_dota.py) on
# 1024x1024 patches (gap 200) of the v2.0 images and labels, read by
# CheckedDOTAv2Dataset (mmrotate's DOTAv2Dataset classes).
#
# Data: python tools/dataset_converters/dota.py split data/DOTA-v2.0 \
#     data/split_ss_dota2_0 --dataset dota2.0 --ann-subdir labelTxt-v2.0
_base_ = ['./lemevit_oriented-rcnn_le90_fpn_dota.py']

data_root = 'data/split_ss_dota2_0/'
dataset_type = 'CheckedDOTAv2Dataset'
num_classes = 18
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
