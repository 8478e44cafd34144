# LeMeViT scene classification on AID (30 classes),
# 50% of every class for training, the rest for testing: the seeded
# split lists of tools/dataset_converters/aid.py
# (seed 0; `--seed K` writes meta/train_50_seedK.txt for other seeds).
# Fine-tuned from the ImageNet-1k weights with the MillionAID recipe
# of lemevit_t_millionaid.py
# (100 epochs, no warm-up, weight decay 2e-5, cosine to 1e-5; our choice
# for this dataset: the papers compared against use their own schedules).
# The arch is tiny; lemevit_{s,b}_aid-tr50.py set small and base.
# Scored by top-1 accuracy (overall accuracy, OA) on the test list.
#
# Data under data_root (LEMEVIT_AID_ROOT=/path sets it):
#   images/<class>/<file>   meta/classes.txt
#   meta/train_50.txt meta/test_50.txt   "<class>/<file> <label>"
_base_ = ['../lemevit_t_millionaid.py']

data_root = '{{$LEMEVIT_AID_ROOT:data/aid}}'
train_split = 50  # percent of every class used for training
classes = ('Airport', 'BareLand', 'BaseballField', 'Beach', 'Bridge', 'Center',
           'Church', 'Commercial', 'DenseResidential', 'Desert', 'Farmland',
           'Forest', 'Industrial', 'Meadow', 'MediumResidential', 'Mountain',
           'Park', 'Parking', 'Playground', 'Pond', 'Port', 'RailwayStation',
           'Resort', 'River', 'School', 'SparseResidential', 'Square',
           'Stadium', 'StorageTanks', 'Viaduct')
num_classes = len(classes)

data_preprocessor = dict(num_classes=num_classes)
model = dict(head=dict(num_classes=num_classes))

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix='images',
        ann_file=f'meta/train_{train_split}.txt',
        metainfo=dict(classes=classes)))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix='images',
        ann_file=f'meta/test_{train_split}.txt',
        metainfo=dict(classes=classes)))
test_dataloader = val_dataloader
