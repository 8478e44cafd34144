# UperNet + LeMeViT-tiny on 13-band uint16 Sentinel-2-style tiles: an
# example of a multispectral 16-bit input, on generated data
#   python -m lemevit_mm.testing.sentinel2 data/sentinel2_sample
# (64x64 GeoTIFFs, bands B1-B8, B8A, B9-B12 as reflectance x 10000, four
# land-cover classes, nodata at swath edges). Real L1C/L2A tiles stacked
# to 13 bands at one resolution work the same way; recompute mean/std with
#   python tools/analysis_tools/band_stats.py data/YOUR_ROOT/img_dir/train
# The RGB checkpoint's stem is adapted to 13 bands: R, G, B are B4, B3, B2
# (0-based bands 3, 2, 1), the other bands get the mean RGB filter
# ('mean', for bands that look like optical intensities). Without a
# checkpoint: --cfg-options model.backbone.init_cfg=None.
_base_ = ['./lemevit_t_upernet_potsdam.py']

data_root = 'data/sentinel2_sample'
classes = ('water', 'vegetation', 'bare_soil', 'built_up')
palette = [[40, 90, 200], [40, 160, 60], [200, 170, 110], [220, 60, 60]]
bands = tuple(range(1, 14))
crop_size = (64, 64)
max_iters = 60
# Per-band mean/std in reflectance x 10000 (the raw uint16 values), from
# tools/analysis_tools/band_stats.py on the generated training tiles
# (nodata skipped). max_value=65535 declares uint16 inputs: the data
# preprocessor refuses larger values, and 8-bit statistics (max_value=255)
# would refuse these tiles instead of training on inputs 50 sigmas wide.
mean = [1318.0655, 1198.0306, 1189.7611, 1142.8507, 1363.8087, 1896.5594,
        2113.1089, 2201.4622, 2267.9325, 714.6796, 26.2727, 1885.7520,
        1419.2730]
std = [204.5606, 261.6210, 351.7564, 563.6352, 612.1802, 952.4300,
       1170.4206, 1262.8914, 1332.9464, 372.5214, 8.7746, 1084.2925,
       975.4148]
pretrained = 'pretrained/lemevit_tiny.pth'

train_pipeline = [
    dict(type='LoadMultiBandImageFromFile', bands=bands),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='IgnoreNodataLabels', ignore_index=255),
    dict(type='RandomResize', scale=crop_size, ratio_range=(1.0, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadMultiBandImageFromFile', bands=bands),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='IgnoreNodataLabels', ignore_index=255),
    dict(type='PackSegInputs')
]
tta_pipeline = None

data_preprocessor = dict(
    type='MultiBandSegDataPreProcessor',
    mean=mean,
    std=std,
    bgr_to_rgb=False,
    max_value=65535,
    size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        in_channels=len(bands),
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            adapt_channels='mean',
            rgb_bands=(3, 2, 1))),
    decode_head=dict(num_classes=len(classes)),
    auxiliary_head=dict(num_classes=len(classes)),
    test_cfg=dict(_delete_=True, mode='whole'))

s2_dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=dict(classes=classes, palette=palette),
    img_suffix='.tif',
    seg_map_suffix='.png',
    reduce_zero_label=False)
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        **s2_dataset,
        data_prefix=dict(img_path='img_dir/train',
                         seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        **s2_dataset,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=10),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=10,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
