# Oriented R-CNN + LeMeViT-tiny on DOTA-v1.0, multi-scale. See
# _base_/lemevit_oriented-rcnn_le90_fpn_dota_ms.py for the recipe.
_base_ = ['./_base_/lemevit_oriented-rcnn_le90_fpn_dota_ms.py']

arch = 'tiny'
# ImageNet-1k weights of the LeMeViT classifier (authors' file or ours);
# the classifier head is dropped when loading.
pretrained = 'pretrained/lemevit_tiny.pth'

model = dict(
    backbone=dict(
        arch=arch,
        init_cfg=dict(_delete_=True, type='Pretrained',
                      checkpoint=pretrained)),
    neck=dict(arch=arch))
