# LeMeViT-small scene classification on NWPU-RESISC45, the recipe of
# _base_/lemevit_nwpu_resisc45.py (data, split lists, schedule).
_base_ = ['./_base_/lemevit_nwpu_resisc45.py']

arch = 'small'
last_width = 384
load_from = '{{$LEMEVIT_IN1K_CKPT:checkpoints/lemevit_s_in1k.pth}}'
model = dict(
    backbone=dict(arch=arch, drop_path_rate=0.2),
    neck=dict(in_channels=last_width),
    head=dict(in_channels=last_width))
