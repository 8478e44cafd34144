# LeMeViT-tiny Siamese + BIT on LEVIR-CD: trained on random 256x256 crops
# of the 1024x1024 tiles, tested by sliding a 256x256 window. The head is
# that of lemevit_t_bit_cdd.py (8-wide decoder heads).
_base_ = [
    './_base_/models/siamese_lemevit_bit.py',
    './_base_/datasets/levir_cd.py', './_base_/schedules/cd_200e.py',
    './_base_/cd_runtime.py'
]
model = dict(
    backbone=dict(arch='tiny'),
    decode_head=dict(in_channels=192, dec_head_dim=8),
    test_cfg=dict(mode='slide', crop_size=(256, 256), stride=(256, 256)))
