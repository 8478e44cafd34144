# Oriented R-CNN (le90, FPN) + LeMeViT on HRSC2016 (one class, ship): the
# DOTA-v1.0 model with the LeMeViT optimizer (AdamW lr 1e-3, weight decay
# 0.05, batch 8) over 36 epochs, Oriented R-CNN's HRSC2016 schedule, on
# mmrotate's HRSC data settings. Variant configs set the arch.
_base_ = [
    './datasets/hrsc.py', './models/lemevit_oriented-rcnn_le90_fpn.py',
    './schedules/lemevit_adamw_3x.py', 'mmrotate::_base_/default_runtime.py'
]

model = dict(
    roi_head=dict(bbox_head=dict(num_classes={{_base_.num_classes}})))
