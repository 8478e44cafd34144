# UperNet + LeMeViT-tiny on ISPRS Potsdam (512x512 crops, 80k iterations).
_base_ = ['./_base_/lemevit_upernet_potsdam.py']

arch = 'tiny'
dense_channels = _base_.lemevit_dense_channels[arch]
model = dict(
    backbone=dict(arch=arch),
    decode_head=dict(in_channels=dense_channels),
    auxiliary_head=dict(in_channels=dense_channels[2]))
