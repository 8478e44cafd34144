# LeMeViT-tiny on AID with 20% of every class for training
# (the other standard share); otherwise lemevit_t_aid-tr50.py.
_base_ = ['./lemevit_t_aid-tr50.py']

train_split = 20
train_dataloader = dict(
    dataset=dict(ann_file=f'meta/train_{train_split}.txt'))
val_dataloader = dict(dataset=dict(ann_file=f'meta/test_{train_split}.txt'))
test_dataloader = val_dataloader
