# UperNet + FCN auxiliary head on LeMeViT, iSAID (16 classes, background
# included, as mmseg scores it): mmseg's own UperNet, iSAID dataset (the
# 896x896 patches of its converter, random resize 0.5-2.0 and 896 crops),
# runtime and 80k-schedule configs, with the LeMeViT segmentation
# optimizer of lemevit_upernet.py (AdamW lr 4e-4, weight decay
# 0.05, warm-up then poly decay, batch 8 = 4 GPUs x 2). Scored by mIoU
# on the val patches. The variant configs set the arch.
#
# Data (`python tools/dataset_converters/isaid.py SRC data/iSAID`):
#   data/iSAID/img_dir/{train,val,test}/  data/iSAID/ann_dir/{train,val}/
_base_ = [
    './lemevit_upernet.py',  # first: it imports lemevit_mm
    'mmseg::_base_/datasets/isaid.py',
]

dataset_type = 'CheckediSAIDDataset'
data_root = 'data/iSAID'
num_classes = 16
crop_size = (896, 896)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(512, 512)))

train_dataloader = dict(
    batch_size=2,
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
