# WHU-CD (building changes, aerial, 0.3 m) as cut into 256x256 tiles by
# BIT with its split lists (the version change-detection papers report):
# A/, B/, label/ holding every tile, list/{train,val,test}.txt naming the
# tiles of each split. CDD's pipelines (random flips, rotations and
# photometric distortion, the crop a no-op at 256).
_base_ = ['./cdd.py']
dataset_type = 'WHUCDDataset'
data_root = 'data/WHU-CD-256'
prefix = dict(img_path='A', img_path2='B', seg_map_path='label')
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='list/train.txt', data_prefix=prefix))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='list/val.txt', data_prefix=prefix))
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='list/test.txt', data_prefix=prefix))
