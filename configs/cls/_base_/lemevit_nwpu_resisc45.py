# LeMeViT scene classification on NWPU-RESISC45 (45 classes),
# 20% of every class for training, the rest for testing: the seeded
# split lists of tools/dataset_converters/nwpu_resisc45.py
# (seed 0; `--seed K` writes meta/train_20_seedK.txt for other seeds).
# Fine-tuned from the ImageNet-1k weights with the MillionAID recipe
# of lemevit_t_millionaid.py
# (100 epochs, no warm-up, weight decay 2e-5, cosine to 1e-5; our choice
# for this dataset: the papers compared against use their own schedules).
# The arch is tiny; lemevit_{s,b}_nwpu-resisc45-tr20.py set small and base.
# Scored by top-1 accuracy (overall accuracy, OA) on the test list.
#
# Data under data_root (LEMEVIT_NWPU_RESISC45_ROOT=/path sets it):
#   images/<class>/<file>   meta/classes.txt
#   meta/train_20.txt meta/test_20.txt   "<class>/<file> <label>"
_base_ = ['../lemevit_t_millionaid.py']

data_root = '{{$LEMEVIT_NWPU_RESISC45_ROOT:data/nwpu-resisc45}}'
train_split = 20  # percent of every class used for training
classes = ('airplane', 'airport', 'baseball_diamond', 'basketball_court',
           'beach', 'bridge', 'chaparral', 'church', 'circular_farmland',
           'cloud', 'commercial_area', 'dense_residential', 'desert', 'forest',
           'freeway', 'golf_course', 'ground_track_field', 'harbor',
           'industrial_area', 'intersection', 'island', 'lake', 'meadow',
           'medium_residential', 'mobile_home_park', 'mountain', 'overpass',
           'palace', 'parking_lot', 'railway', 'railway_station',
           'rectangular_farmland', 'river', 'roundabout', 'runway', 'sea_ice',
           'ship', 'snowberg', 'sparse_residential', 'stadium', 'storage_tank',
           'tennis_court', 'terrace', 'thermal_power_station', 'wetland')
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
