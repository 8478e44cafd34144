# LeMeViT scene classification on UC Merced Land Use (21 classes),
# 80% of every class for training, the rest for testing: the seeded
# split lists of tools/dataset_converters/ucmerced.py
# (seed 0; `--seed K` writes meta/train_80_seedK.txt for other seeds).
# Fine-tuned from the ImageNet-1k weights with the MillionAID recipe
# of lemevit_t_millionaid.py
# (100 epochs, no warm-up, weight decay 2e-5, cosine to 1e-5; our choice
# for this dataset: the papers compared against use their own schedules).
# The arch is tiny; lemevit_{s,b}_ucmerced-tr80.py set small and base.
# Scored by top-1 accuracy (overall accuracy, OA) on the test list.
#
# Data under data_root (LEMEVIT_UCMERCED_ROOT=/path sets it):
#   images/<class>/<file>   meta/classes.txt
#   meta/train_80.txt meta/test_80.txt   "<class>/<file> <label>"
_base_ = ['../lemevit_t_millionaid.py']

data_root = '{{$LEMEVIT_UCMERCED_ROOT:data/ucmerced}}'
train_split = 80  # percent of every class used for training
classes = ('agricultural', 'airplane', 'baseballdiamond', 'beach', 'buildings',
           'chaparral', 'denseresidential', 'forest', 'freeway', 'golfcourse',
           'harbor', 'intersection', 'mediumresidential', 'mobilehomepark',
           'overpass', 'parkinglot', 'river', 'runway', 'sparseresidential',
           'storagetanks', 'tenniscourt')
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
