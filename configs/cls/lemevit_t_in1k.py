# LeMeViT-tiny on ImageNet-1k: the authors' recipe (300 epochs = 280 cosine
# + 20 cool-down, AdamW lr 5e-4 per 512 images, EMA, mixup/cutmix,
# RandAugment, random erasing, label smoothing, repeated augmentation,
# bicubic resize, mixed precision on GPUs). Data: folder-per-class
# `train/`, `val/` under data_root, with optional `meta/{train,val}.txt`
# annotation lists (mmpretrain's `ImageNet` layout). Point data_root
# elsewhere with LEMEVIT_IMAGENET_ROOT=/path or --cfg-options data_root=/path
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['lemevit_mm'], allow_failed_imports=False)

data_root = '{{$LEMEVIT_IMAGENET_ROOT:data/imagenet}}'
arch = 'tiny'
num_classes = 1000
last_width = 320  # LeMeViT.arch_zoo[arch]['embed_dims'][-1]

model = dict(
    type='LeMeViTClassifier',  # mmpretrain's ImageClassifier + official
    backbone=dict(             # checkpoint names
        type='LeMeViT',
        arch=arch,
        out_indices=(4, ),
        out_meta_tokens=True,
        drop_path_rate=0.15),
    neck=dict(type='LeMeViTPooling', in_channels=last_width),
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=last_width,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=dict(type='TruncNormal', layer='Linear', std=0.02,
                      bias=0.)),
    # timm's Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5)
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0),
    ]))

# RandAugment rand-m9-mstd0.5-inc1, random erasing 0.25 ('rand' = timm's
# pixel mode) and bicubic resizing come from the swin base pipeline. The
# colour jitter 0.4 of the authors' command line is inactive in timm when
# RandAugment is on, so it is not added here.
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    dataset=dict(data_root=data_root),
    sampler=dict(type='RepeatAugSampler', shuffle=True, num_repeats=3))
val_dataloader = dict(batch_size=64, num_workers=8,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

# lr 5e-4 for 512 images per iteration (64 x 8 GPUs), scaled linearly to
# the real total batch by `auto_scale_lr`.
optim_wrapper = dict(
    type='AmpOptimWrapper',  # float32 on machines without CUDA
    loss_scale='dynamic',
    optimizer=dict(
        type='AdamW', lr=5e-4, weight_decay=0.05, eps=1e-8,
        betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        _delete_=True,
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0))
auto_scale_lr = dict(base_batch_size=512, enable=True)

warmup_epochs = 5
cosine_epochs = 280
param_scheduler = [
    # 1e-6 -> lr over 5 epochs, updated every iteration
    dict(type='LinearLR', start_factor=1e-6 / 5e-4, by_epoch=True,
         begin=0, end=warmup_epochs, convert_to_iter_based=True),
    # cosine to 5e-6 at epoch 280, then 20 cool-down epochs at 5e-6
    dict(type='CosineAnnealingLR', eta_min=5e-6, by_epoch=True,
         begin=warmup_epochs, end=cosine_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)

# EMA of the weights, decay 0.996 per iteration (MMEngine's momentum is
# 1 - decay); validation, test and the saved `state_dict` use the EMA
# weights. LeMeViTEMAHook = mmpretrain's EMAHook that also reads the
# authors' bare state dicts.
custom_hooks = [
    dict(type='LeMeViTEMAHook', momentum=0.004, priority='ABOVE_NORMAL')
]

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3,
                    save_best='auto'),
    logger=dict(type='LoggerHook', interval=100))
