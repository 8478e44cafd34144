# DOTA-v1.5 test-split submission of Oriented R-CNN + LeMeViT-small:
#   python tools/test.py \
#       configs/det/lemevit_s_oriented-rcnn_dotav15_task1.py CKPT
# as lemevit_s_oriented-rcnn_dota_task1.py: the unlabelled test patches
# are merged back onto the original images (rotated NMS, IoU 0.1, per
# class) and written as Task1_<class>.txt files and their zip under
# test_evaluator.outfile_prefix, which must not exist yet.
_base_ = ['./lemevit_s_oriented-rcnn_dotav15.py']

test_dataloader = dict(
    dataset=dict(
        ann_file='',
        data_prefix=dict(img_path='test/images/'),
        pipeline={{_base_.test_pipeline}}))
test_evaluator = dict(
    format_only=True,
    merge_patches=True,
    outfile_prefix='work_dirs/lemevit_s_oriented-rcnn_dotav15_task1/Task1')
