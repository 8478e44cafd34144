# Oriented R-CNN + LeMeViT-base on FAIR1M-2.0. See
# _base_/lemevit_oriented-rcnn_le90_fpn_fair1m.py for the recipe.
_base_ = ['./_base_/lemevit_oriented-rcnn_le90_fpn_fair1m.py']

arch = 'base'
# ImageNet-1k weights of the LeMeViT classifier (authors' file or ours);
# the classifier head is dropped when loading.
pretrained = 'pretrained/lemevit_base.pth'

model = dict(
    backbone=dict(
        arch=arch,
        init_cfg=dict(_delete_=True, type='Pretrained',
                      checkpoint=pretrained)),
    neck=dict(arch=arch))
