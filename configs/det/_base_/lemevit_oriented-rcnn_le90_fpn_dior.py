# Oriented R-CNN (le90, FPN) + LeMeViT on DIOR-R: the DOTA-v1.0 model and
# optimizer (AdamW lr 1e-3, weight decay 0.05, 12 epochs, batch 8 = 4 GPUs
# x 2) on mmrotate's DIOR data settings. Variant configs set the arch.
_base_ = [
    './datasets/dior.py', './models/lemevit_oriented-rcnn_le90_fpn.py',
    './schedules/lemevit_adamw_1x.py', 'mmrotate::_base_/default_runtime.py'
]

model = dict(
    roi_head=dict(bbox_head=dict(num_classes={{_base_.num_classes}})))
