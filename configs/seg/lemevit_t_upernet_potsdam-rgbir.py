# UperNet + LeMeViT-tiny on ISPRS Potsdam with the infrared band: the
# 4_Ortho_RGBIR tiles (R, G, B, IR), converted to 4-band TIFF crops by
#   python tools/dataset_converters/potsdam.py ARCHIVES --bands rgbir \
#       -o data/potsdam_rgbir
# The recipe of lemevit_t_upernet_potsdam.py (5 scored classes, 512 crops,
# 80k iterations); only the input differs. The RGB checkpoint's stem is
# adapted to 4 bands: 'zero' keeps the RGB filters and starts the IR one
# at zero, so training starts from the RGB model.
_base_ = ['./lemevit_t_upernet_potsdam.py']

data_root = 'data/potsdam_rgbir'
img_suffix = '.tif'
# 1-based bands of the TIFFs, in the order the model sees them.
bands = (1, 2, 3, 4)
# Per-band statistics, 8-bit: R, G, B are ImageNet's (what the RGB
# checkpoint was trained with); IR is a placeholder (the mean and std of
# the three). Replace the IR values by those of your data:
#   python tools/analysis_tools/band_stats.py data/potsdam_rgbir/img_dir/train
mean = [123.675, 116.28, 103.53, 114.495]
std = [58.395, 57.12, 57.375, 57.63]
# An RGB LeMeViT-tiny checkpoint (the authors' ImageNet file or ours).
pretrained = 'pretrained/lemevit_tiny.pth'


def multiband_pipeline(pipeline: list, bands: tuple) -> list:
    """An mmseg pipeline reading ``bands`` with the raster loader; the
    colour jitter (defined for RGB only) is dropped."""
    steps = []
    for step in pipeline:
        if step['type'] == 'PhotoMetricDistortion':
            continue
        if step['type'] == 'LoadImageFromFile':
            step = dict(type='LoadMultiBandImageFromFile', bands=bands)
        steps.append(step)
    return steps


train_pipeline = multiband_pipeline(_base_.train_pipeline, bands)
test_pipeline = multiband_pipeline(_base_.test_pipeline, bands)
tta_pipeline = multiband_pipeline(_base_.tta_pipeline, bands)

data_preprocessor = dict(
    type='MultiBandSegDataPreProcessor',
    mean=mean,
    std=std,
    bgr_to_rgb=False,  # the raster loader gives the bands in file order
    max_value=255)  # 8-bit data
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        in_channels=len(bands),
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            adapt_channels='zero',
            rgb_bands=(0, 1, 2))))

train_dataloader = dict(
    dataset=dict(data_root=data_root, img_suffix=img_suffix,
                 pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=data_root, img_suffix=img_suffix,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
