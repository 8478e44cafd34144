# A Siamese LeMeViT-tiny (shared weights) with a BIT head on its stride-16
# map, as in the LeMeViT authors' change-detection code.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    # mmseg's SegDataPreProcessor with one mean/std per band, checked
    # against the input (6 channels: both dates are stacked).
    type='MultiBandSegDataPreProcessor',
    # ImageNet statistics (RGB), once per date.
    mean=[123.675, 116.28, 103.53] * 2,
    std=[58.395, 57.12, 57.375] * 2,
    bgr_to_rgb=False,  # LoadImagePairFromFile already gives RGB
    pad_val=0,
    seg_pad_val=255,
    size=(256, 256))
model = dict(
    type='SiameseEncoderDecoder',
    data_preprocessor=data_preprocessor,
    image_channels=3,
    backbone=dict(
        type='LeMeViT',
        arch='tiny',
        # Only the stride-16 map is used: stage 4 is not run (its weights
        # stay in the model, frozen, so checkpoints load whole).
        out_indices=(3, ),
        drop_path_rate=0.,
        # The authors start from ImageNet weights (an authors' file or a
        # checkpoint of configs/cls; its head weights are ignored):
        # init_cfg=dict(type='Pretrained', checkpoint='lemevit_tiny.pth'),
        init_cfg=None),
    decode_head=dict(
        type='BITHead',
        in_channels=192,
        in_index=0,
        channels=32,
        token_len=4,
        enc_depth=1,
        dec_depth=8,
        num_heads=8,
        enc_head_dim=64,
        dec_head_dim=64,
        mlp_channels=64,
        feature_upsample=2,
        output_upsample=(2, 4),
        num_classes=2,
        out_channels=2,
        dropout_ratio=0.,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
