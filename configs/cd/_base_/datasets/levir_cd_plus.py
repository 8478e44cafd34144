# LEVIR-CD+ (985 pairs of 1024x1024 PNG): LEVIR-CD's layout, but only
# {train,test}/{A,B,label}: no val split, so validation scores the test
# split (as the papers reporting LEVIR-CD+ do).
_base_ = ['./levir_cd.py']
data_root = 'data/LEVIR-CD+'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(img_path='test/A', img_path2='test/B',
                         seg_map_path='test/label')))
test_dataloader = val_dataloader
