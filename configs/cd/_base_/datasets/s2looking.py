# S2Looking (side-looking satellite pairs, 1024x1024 PNG):
# {train,val,test}/{Image1,Image2,label}. As LEVIR-CD: random 256x256
# crops for training, a sliding 256x256 window at test time (set in the
# config that uses this file).
_base_ = ['./levir_cd.py']
dataset_type = 'S2LookingDataset'
data_root = 'data/S2Looking'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root,
        data_prefix=dict(img_path='train/Image1', img_path2='train/Image2',
                         seg_map_path='train/label')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root,
        data_prefix=dict(img_path='val/Image1', img_path2='val/Image2',
                         seg_map_path='val/label')))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root,
        data_prefix=dict(img_path='test/Image1', img_path2='test/Image2',
                         seg_map_path='test/label')))
