# LEVIR-CD: 1024x1024 PNG pairs in {train,val,test}/{A,B,label}. Training
# uses random 256x256 crops; testing slides a 256x256 window over the whole
# tile (set in the model's test_cfg of the config that uses this file).
_base_ = ['./cdd.py']
dataset_type = 'PairedLEVIRCDDataset'
data_root = 'data/LEVIR-CD'
crop_size = (256, 256)
train_pipeline = [
    dict(type='LoadImagePairFromFile'),
    dict(type='LoadChangeAnnotation', threshold=128),
    dict(type='ConcatCDInput'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(
        type='RandomFlip',
        prob=[0.25, 0.25],
        direction=['horizontal', 'vertical']),
    dict(type='RandomRotFlip', rotate_prob=0., flip_prob=0.5),
    dict(type='BiTemporalPhotoMetricDistortion'),
    dict(type='PackSegInputs', meta_keys=(
        'img_path', 'img_path2', 'seg_map_path', 'ori_shape', 'img_shape',
        'pad_shape', 'scale_factor', 'flip', 'flip_direction',
        'reduce_zero_label'))
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(seg_map_path='train/label'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(seg_map_path='val/label')))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(seg_map_path='test/label')))
