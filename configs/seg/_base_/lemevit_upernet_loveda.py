# UperNet + FCN auxiliary head on LeMeViT, LoveDA (7 classes; urban and
# rural scenes; 1024x1024 images): mmseg's own UperNet, LoveDA dataset,
# runtime and 80k-schedule configs, with the LeMeViT segmentation recipe
# of lemevit_upernet.py (AdamW lr 4e-4, weight decay 0.05, 1500
# warm-up iterations then poly decay, batch 8 = 4 GPUs x 2, 512x512
# crops, slide inference). Scored by mIoU (mmseg's IoUMetric) on the val
# split; the test split by the benchmark's server (see
# lemevit_t_upernet_loveda_test.py). The variant configs set the arch.
#
# Data (`python tools/dataset_converters/loveda.py SRC data/loveDA`):
#   data/loveDA/img_dir/{train,val,test}/*.png  ann_dir/{train,val}/*.png
#   data/loveDA/meta/{train,val,test}_{urban,rural}.txt  (one domain)
_base_ = [
    './lemevit_upernet.py',  # first: it imports lemevit_mm
    'mmseg::_base_/datasets/loveda.py',
]

dataset_type = 'CheckedLoveDADataset'
data_root = 'data/loveDA'
num_classes = 7
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(384, 384)))

train_dataloader = dict(
    batch_size=2,
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
