# LeMeViT-base Siamese + BIT on CDD (published: 53.34 M params, F1 97.32).
_base_ = [
    './_base_/models/siamese_lemevit_bit.py', './_base_/datasets/cdd.py',
    './_base_/schedules/cd_200e.py', './_base_/cd_runtime.py'
]
model = dict(
    backbone=dict(arch='base'), decode_head=dict(in_channels=384))
