# LeMeViT-base Siamese + BIT on WHU-CD: the CDD recipe of
# lemevit_b_bit_cdd.py (same model and schedule) on the data of
# _base_/datasets/whu_cd.py. Scored by precision, recall, F1 and IoU of
# the changed class.
_base_ = [
    './_base_/models/siamese_lemevit_bit.py',
    './_base_/datasets/whu_cd.py', './_base_/schedules/cd_200e.py',
    './_base_/cd_runtime.py'
]
model = dict(
    backbone=dict(arch='base'),
    decode_head=dict(in_channels=384))
