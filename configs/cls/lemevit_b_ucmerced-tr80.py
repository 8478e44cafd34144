# LeMeViT-base scene classification on UC Merced, the recipe of
# _base_/lemevit_ucmerced.py (data, split lists, schedule).
_base_ = ['./_base_/lemevit_ucmerced.py']

arch = 'base'
last_width = 512
load_from = '{{$LEMEVIT_IN1K_CKPT:checkpoints/lemevit_b_in1k.pth}}'
model = dict(
    backbone=dict(arch=arch, drop_path_rate=0.3),
    neck=dict(in_channels=last_width),
    head=dict(in_channels=last_width))
