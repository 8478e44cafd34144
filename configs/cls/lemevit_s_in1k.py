# LeMeViT-small on ImageNet-1k, the recipe of lemevit_t_in1k.py.
_base_ = ['./lemevit_t_in1k.py']

arch = 'small'
last_width = 384
model = dict(
    backbone=dict(arch=arch, drop_path_rate=0.2),
    neck=dict(in_channels=last_width),
    head=dict(in_channels=last_width))
