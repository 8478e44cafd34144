# FAIR1M-2.0 test submission of Oriented R-CNN + LeMeViT-small:
#   python tools/test.py \
#       configs/det/lemevit_s_oriented-rcnn_fair1m_submission.py CKPT
# as the DOTA Task1 configs: the unlabelled test patches are merged back
# onto the original images (rotated NMS, IoU 0.1, per class), then written
# in the official format, one <image id>.xml per test image (the FAIR1M
# class names, the score as probability, five points), and zipped, under
# test_evaluator.outfile_prefix, which must not exist yet.
_base_ = ['./lemevit_s_oriented-rcnn_fair1m.py']

test_dataloader = dict(
    dataset=dict(
        ann_file='',
        data_prefix=dict(img_path='test/images/'),
        pipeline={{_base_.test_pipeline}}))
test_evaluator = dict(
    _delete_=True,
    type='FAIR1MSubmissionMetric',
    outfile_prefix='work_dirs/lemevit_s_oriented-rcnn_fair1m_submission/'
    'test')
