# CDD (Lebedev et al. 2018, real season-varying subset): 256x256 JPEG
# tiles in {train,val,test}/{A,B,OUT}.
dataset_type = 'CDDDataset'
data_root = 'data/CDD'
crop_size = (256, 256)
# PackSegInputs with the path of the date-B image kept in the metainfo.
pack_inputs = dict(type='PackSegInputs', meta_keys=(
    'img_path', 'img_path2', 'seg_map_path', 'ori_shape', 'img_shape',
    'pad_shape', 'scale_factor', 'flip', 'flip_direction',
    'reduce_zero_label'))
# ConcatCDInput stacks the dates first, so the crop, flips and rotations
# below move date A, date B and the label together; the photometric
# distortion is drawn independently for each date.
train_pipeline = [
    dict(type='LoadImagePairFromFile'),
    dict(type='LoadChangeAnnotation', threshold=128),
    dict(type='ConcatCDInput'),
    dict(
        type='RandomResize',
        scale=crop_size,
        ratio_range=(1.0, 1.25),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(
        type='RandomFlip',
        prob=[0.25, 0.25],
        direction=['horizontal', 'vertical']),
    dict(type='RandomRotFlip', rotate_prob=0., flip_prob=0.5),
    dict(type='BiTemporalPhotoMetricDistortion'),
    pack_inputs
]
test_pipeline = [
    dict(type='LoadImagePairFromFile'),
    dict(type='LoadChangeAnnotation', threshold=128),
    dict(type='ConcatCDInput'),
    pack_inputs
]


train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='train/A', img_path2='train/B',
            seg_map_path='train/OUT'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='val/A', img_path2='val/B', seg_map_path='val/OUT'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='test/A', img_path2='test/B', seg_map_path='test/OUT'),
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='ChangeDetectionMetric')
test_evaluator = val_evaluator
