# UperNet + LeMeViT-small on iSAID. See _base_/lemevit_upernet_isaid.py for
# the recipe.
_base_ = ['./_base_/lemevit_upernet_isaid.py']

arch = 'small'
dense_channels = _base_.lemevit_dense_channels[arch]
# ImageNet-1k weights of the LeMeViT classifier (authors' file or ours).
pretrained = 'pretrained/lemevit_small.pth'
model = dict(
    backbone=dict(
        arch=arch,
        init_cfg=dict(_delete_=True, type='Pretrained',
                      checkpoint=pretrained)),
    decode_head=dict(in_channels=dense_channels),
    auxiliary_head=dict(in_channels=dense_channels[2]))
