# DIOR-R (20 classes, 800x800 JPEG images): mmrotate's DIOR dataset
# config (train on the official train + val lists, score the test list,
# 800x800 inputs, flips), read by CheckedDIORDataset (every XML object
# checked, invalid ones reported as file:line and skipped) and scored by
# RotatedVOCMetric: AP at IoU 0.5 with the VOC07 11-point rule (`mAP`,
# what DIOR-R papers report) and the area rule (`mAP_voc12`).
#
# Data (`python tools/dataset_converters/dior.py SRC data/DIOR` builds
# it from the official folders or zips):
#   data/DIOR/JPEGImages-trainval/*.jpg  data/DIOR/JPEGImages-test/*.jpg
#   data/DIOR/Annotations/Oriented Bounding Boxes/*.xml
#   data/DIOR/ImageSets/Main/{train,val,test}.txt
_base_ = ['mmrotate::_base_/datasets/dior.py']

dataset_type = 'CheckedDIORDataset'
data_root = 'data/DIOR/'
classes = ('airplane', 'airport', 'baseballfield', 'basketballcourt',
           'bridge', 'chimney', 'expressway-service-area',
           'expressway-toll-station', 'dam', 'golffield', 'groundtrackfield',
           'harbor', 'overpass', 'ship', 'stadium', 'storagetank',
           'tenniscourt', 'trainstation', 'vehicle', 'windmill')
num_classes = len(classes)
metainfo = dict(classes=classes)

train_dataloader = dict(
    dataset=dict(
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                metainfo=metainfo,
                ann_file=f'ImageSets/Main/{split}.txt',
                data_prefix=dict(img_path='JPEGImages-trainval'),
                filter_cfg=dict(filter_empty_gt=True),
                pipeline=_base_.train_pipeline) for split in ('train', 'val')
        ]))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader

val_evaluator = dict(
    _delete_=True, type='RotatedVOCMetric', ap_rules=('voc07', 'voc12'),
    prefix='dior')
test_evaluator = val_evaluator
