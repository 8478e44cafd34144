# UperNet + LeMeViT-tiny on ISPRS Vaihingen: IR-R-G orthophotos, mmseg's
# converted layout and split (tools/dataset_converters/vaihingen.py runs
# mmseg's converter), the Potsdam protocol: the same 5 scored classes
# (clutter ignored like the eroded boundary), OA / mF1 / mIoU, 512 crops,
# slide inference, 80k iterations (lemevit_t_upernet_potsdam.py).
#
# The images are 3-band false colour: the file's red, green and blue
# channels hold IR, R and G. mmseg's pipeline reads them (BGR, swapped to
# file order by the preprocessor), so the model sees IR, R, G; the RGB
# checkpoint's R and G filters go to bands 1 and 2, its B filter is
# dropped (no blue band) and the IR band starts at zero ('zero').
_base_ = ['./lemevit_t_upernet_potsdam.py']

data_root = 'data/vaihingen'
dataset_type = 'CheckedVaihingenDataset'
# IR, R, G. R and G: ImageNet's; IR: a placeholder (the mean and std of
# ImageNet's three), to be replaced by
#   python tools/analysis_tools/band_stats.py data/vaihingen/img_dir/train
mean = [114.495, 123.675, 116.28]
std = [57.63, 58.395, 57.12]
pretrained = 'pretrained/lemevit_tiny.pth'

data_preprocessor = dict(
    type='MultiBandSegDataPreProcessor',
    mean=mean,
    std=std,
    bgr_to_rgb=True,  # OpenCV's BGR back to the file's IR, R, G
    max_value=255)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        in_channels=3,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            adapt_channels='zero',
            rgb_bands=(1, 2, None))))

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
