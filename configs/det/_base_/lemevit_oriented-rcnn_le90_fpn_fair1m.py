# Oriented R-CNN + LeMeViT on FAIR1M-2.0 (37 fine-grained classes of
# airplanes, ships, vehicles, courts and roads): the DOTA-v1.0 recipe
# (lemevit_oriented-rcnn_le90_fpn_dota.py) on 1024x1024 patches (gap 200)
# of the train and validation images, read by CheckedFAIR1MDataset (the
# FAIR1M XML converted to DOTA text). The test split is scored by the
# benchmark's server from one XML file per image: see
# lemevit_t_oriented-rcnn_fair1m_submission.py.
#
# Data: python tools/dataset_converters/fair1m.py SRC data/FAIR1M
#       python tools/dataset_converters/dota.py split data/FAIR1M \
#           data/split_ss_fair1m --dataset fair1m
_base_ = ['./lemevit_oriented-rcnn_le90_fpn_dota.py']

data_root = 'data/split_ss_fair1m/'
dataset_type = 'CheckedFAIR1MDataset'
num_classes = 37
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
