# LeMeViT-tiny Siamese + BIT on S2Looking: the CDD recipe of
# lemevit_t_bit_cdd.py (same model and schedule) on the data of
# _base_/datasets/s2looking.py. Scored by precision, recall, F1 and IoU of
# the changed class.
_base_ = [
    './_base_/models/siamese_lemevit_bit.py',
    './_base_/datasets/s2looking.py', './_base_/schedules/cd_200e.py',
    './_base_/cd_runtime.py'
]
model = dict(
    backbone=dict(arch='tiny'),
    decode_head=dict(in_channels=192, dec_head_dim=8),
    test_cfg=dict(mode='slide', crop_size=(256, 256), stride=(256, 256)))
