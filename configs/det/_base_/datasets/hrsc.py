# HRSC2016 (ships, level 1): mmrotate's HRSC dataset config (train on the
# official trainval list, score the test list, 800x512 inputs, flips),
# read by CheckedHRSCDataset (every ship checked, invalid ones reported as
# file:line and skipped; the image height read correctly) and scored by
# RotatedVOCMetric: mAP at IoU 0.5 with the VOC07 11-point rule (`mAP`,
# = `mAP_voc07`) and the VOC12 area rule (`mAP_voc12`), as HRSC2016
# results are reported.
#
# Data (`python tools/dataset_converters/hrsc.py SRC data/hrsc` builds
# it from the official folders or zip parts):
#   data/hrsc/FullDataSet/AllImages/*.bmp
#   data/hrsc/FullDataSet/Annotations/*.xml
#   data/hrsc/ImageSets/{trainval,test}.txt
_base_ = ['mmrotate::_base_/datasets/hrsc.py']

dataset_type = 'CheckedHRSCDataset'
data_root = 'data/hrsc/'
classes = ('ship', )
num_classes = 1
metainfo = dict(classes=classes)

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader

val_evaluator = dict(
    _delete_=True, type='RotatedVOCMetric', ap_rules=('voc07', 'voc12'),
    prefix='hrsc')
test_evaluator = val_evaluator
