# LeMeViT-tiny scene recognition on MillionAID (51 classes), fine-tuned
# from the ImageNet-1k weights: 100 epochs, no warm-up, weight decay 2e-5,
# cosine to 1e-5, otherwise the ImageNet recipe.
#
# Data under data_root (LEMEVIT_MILLIONAID_ROOT=/path or --cfg-options
# data_root=/path), as written by tools/dataset_converters/millionaid.py:
#   train/<class>/*.jpg, val/<class>/*.jpg      folder per class
#   meta/train.txt, meta/val.txt                "<path in split> <label>"
# The lists are used by default; for folders only, pass
#   --cfg-options train_dataloader.dataset.ann_file= \
#                 val_dataloader.dataset.ann_file=
# (classes are then the sorted folder names).
# The ImageNet checkpoint (a converted authors' file or a run of
# lemevit_t_in1k.py) comes from LEMEVIT_IN1K_CKPT or --cfg-options
# load_from=PATH; its 1000-class head is skipped (shape mismatch warning).
_base_ = ['./lemevit_t_in1k.py']

data_root = '{{$LEMEVIT_MILLIONAID_ROOT:data/millionaid}}'
num_classes = 51
load_from = '{{$LEMEVIT_IN1K_CKPT:checkpoints/lemevit_t_in1k.pth}}'

data_preprocessor = dict(num_classes=num_classes)
model = dict(head=dict(num_classes=num_classes))

dataset_type = 'CustomDataset'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        data_prefix='train',
        ann_file='meta/train.txt',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        data_prefix='val',
        ann_file='meta/val.txt',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(weight_decay=2e-5))
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=0,
         end=100, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=100)
