# UperNet + LeMeViT-tiny on LoveDA. See _base_/lemevit_upernet_loveda.py for
# the recipe.
_base_ = ['./_base_/lemevit_upernet_loveda.py']

arch = 'tiny'
dense_channels = _base_.lemevit_dense_channels[arch]
# ImageNet-1k weights of the LeMeViT classifier (authors' file or ours).
pretrained = 'pretrained/lemevit_tiny.pth'
model = dict(
    backbone=dict(
        arch=arch,
        init_cfg=dict(_delete_=True, type='Pretrained',
                      checkpoint=pretrained)),
    decode_head=dict(in_channels=dense_channels),
    auxiliary_head=dict(in_channels=dense_channels[2]))
