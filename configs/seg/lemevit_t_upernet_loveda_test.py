# LoveDA test-split submission of UperNet + LeMeViT-tiny:
#   python tools/test.py configs/seg/lemevit_t_upernet_loveda_test.py CKPT
# predicts every test image whole (slide inference over the 1024x1024
# image) and writes one 8-bit PNG per image, named like it, holding the
# class index 0-6 (background, building, road, water, barren, forest,
# agricultural) as the LoveDA server expects, under
# test_evaluator.outfile_prefix/ and zipped as <outfile_prefix>.zip
# (neither may exist yet).
_base_ = ['./lemevit_t_upernet_loveda.py']

test_dataloader = dict(
    dataset=dict(
        data_prefix=dict(img_path='img_dir/test', seg_map_path=''),
        labelled=False,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='PackSegInputs')
        ]))
test_evaluator = dict(
    _delete_=True,
    type='ClassMapSubmission',
    outfile_prefix='work_dirs/lemevit_t_upernet_loveda_test/Result')
