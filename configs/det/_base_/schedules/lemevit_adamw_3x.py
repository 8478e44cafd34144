# 36 epochs (steps at 24 and 33), the HRSC2016 schedule of Oriented R-CNN
# and of mmrotate's 3x configs, with the LeMeViT detection optimizer.
_base_ = ['./lemevit_adamw_1x.py']

train_cfg = dict(max_epochs=36)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0,
         end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True,
         milestones=[24, 33], gamma=0.1)
]
