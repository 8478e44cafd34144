# LeMeViT-tiny on NWPU-RESISC45 with 10% of every class for training
# (the other standard share); otherwise lemevit_t_nwpu-resisc45-tr20.py.
_base_ = ['./lemevit_t_nwpu-resisc45-tr20.py']

train_split = 10
train_dataloader = dict(
    dataset=dict(ann_file=f'meta/train_{train_split}.txt'))
val_dataloader = dict(dataset=dict(ann_file=f'meta/test_{train_split}.txt'))
test_dataloader = val_dataloader
