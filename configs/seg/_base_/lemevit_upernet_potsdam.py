# UperNet + FCN auxiliary head on LeMeViT, ISPRS Potsdam, 80k iterations:
# the recipe of lemevit_upernet.py on mmseg's Potsdam dataset config. The
# variant configs (lemevit_{t,s,b}_upernet_potsdam.py) choose the backbone
# arch and take the heads' in_channels from `lemevit_dense_channels`.
_base_ = [
    './lemevit_upernet.py',  # first: it imports lemevit_mm
    'mmseg::_base_/datasets/potsdam.py',
]

# The five classes scored on Potsdam; clutter is mapped to the ignore
# index (255) like the eroded boundary, in training and evaluation.
scored_classes = ('impervious_surface', 'building', 'low_vegetation',
                  'tree', 'car')
num_classes = len(scored_classes)

crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes),
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

val_evaluator = dict(_delete_=True, type='OverallAccuracyF1Metric')
test_evaluator = val_evaluator
