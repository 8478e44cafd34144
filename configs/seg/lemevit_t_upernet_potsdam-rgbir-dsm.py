# UperNet + LeMeViT-tiny on ISPRS Potsdam with infrared and height: R, G,
# B, IR (4_Ortho_RGBIR) and the normalised DSM (1_DSM_normalisation, 8-bit
# height above ground) stacked as 5-band TIFF crops by
#   python tools/dataset_converters/potsdam.py ARCHIVES --bands rgbir-dsm \
#       -o data/potsdam_rgbir_dsm
# Otherwise lemevit_t_upernet_potsdam-rgbir.py.
_base_ = ['./lemevit_t_upernet_potsdam-rgbir.py']

data_root = 'data/potsdam_rgbir_dsm'
bands = (1, 2, 3, 4, 5)
# R, G, B: ImageNet's; IR and nDSM: placeholders (see the RGBIR config);
# replace them by the output of
#   python tools/analysis_tools/band_stats.py \
#       data/potsdam_rgbir_dsm/img_dir/train
mean = [123.675, 116.28, 103.53, 114.495, 114.495]
std = [58.395, 57.12, 57.375, 57.63, 57.63]

# The RGBIR pipelines, reading five bands.
train_pipeline, test_pipeline, tta_pipeline = [[
    dict(step, bands=bands)
    if step['type'] == 'LoadMultiBandImageFromFile' else step
    for step in pipeline
] for pipeline in (_base_.train_pipeline, _base_.test_pipeline,
                   _base_.tta_pipeline)]

data_preprocessor = dict(mean=mean, std=std)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(in_channels=len(bands)))

train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
