# LEVIR-CD: 1024x1024 PNG pairs in {train,val,test}/{A,B,label}. Training
# uses random 256x256 crops; testing slides a 256x256 window over the whole
# tile (set in the model's test_cfg of the config that uses this file).
_base_ = ['./cdd.py']
dataset_type = 'PairedLEVIRCDDataset'
data_root = 'data/LEVIR-CD'
# CDD's training pipeline without its random up-scaling (the tiles are
# already large).
train_pipeline = [
    step for step in _base_.train_pipeline if step['type'] != 'RandomResize'
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
