"""Change detection: Siamese LeMeViT + BIT on CDD-format data (mmseg)."""
import copy
import glob
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

import lemevit_mm  # noqa: F401  (registers the change-detection parts)
from lemevit_mm.testing.cd import make_synthetic_cd

from helpers import BACKBONE_PARAMS, REPO

CONFIGS = osp.join(REPO, 'configs', 'cd')
# BIT head of the authors' code (token 4, enc 1, dec 8, 8 heads x 64,
# MLP 64, width 32) on the stride-16 map of C3 channels: everything but the
# 3x3 reduction conv is 639,234 parameters.
HEAD_WITHOUT_REDUCE = 639_234


def reduce_conv_params(c3: int) -> int:
    return c3 * 32 * 9 + 32


@pytest.fixture(autouse=True)
def _mmseg_scope():
    init_default_scope('mmseg')


@pytest.fixture(scope='module')
def cdd_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('cdd'))
    return make_synthetic_cd(root, dict(train=4, val=2, test=2), size=64,
                             seed=0)


def build(cfg: ConfigDict):
    from mmseg.registry import MODELS
    return MODELS.build(cfg)


# --------------------------------------------------------------- configs

PUBLISHED = {
    # config: (expected parameters, published millions or None)
    'lemevit_t_bit_cdd.py': (None, 8.56),
    'lemevit_t_bit-dedim64_cdd.py':
    (BACKBONE_PARAMS['tiny'] + reduce_conv_params(192) + HEAD_WITHOUT_REDUCE,
     None),
    'lemevit_s_bit_cdd.py':
    (BACKBONE_PARAMS['small'] + reduce_conv_params(320) +
     HEAD_WITHOUT_REDUCE, 16.75),
    'lemevit_b_bit_cdd.py':
    (BACKBONE_PARAMS['base'] + reduce_conv_params(384) + HEAD_WITHOUT_REDUCE,
     53.34),
}


def test_every_config_is_covered():
    names = {osp.basename(p) for p in glob.glob(osp.join(CONFIGS, '*.py'))}
    # the benchmark datasets' configs: tests/test_datasets_cd.py
    benchmarks = {f'lemevit_{v}_bit_{d}.py' for v in 'tsb'
                  for d in ('whu-cd', 's2looking', 'levir-cd-plus')}
    assert names == set(PUBLISHED) | {'lemevit_t_bit_levir-cd.py'} | \
        benchmarks


@pytest.mark.parametrize('name', sorted(PUBLISHED))
def test_parameter_counts(name):
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    model = build(cfg.model)
    total = sum(p.numel() for p in model.parameters())
    expected, published = PUBLISHED[name]
    if expected is not None:
        assert total == expected
    if published is not None:
        assert abs(total / 1e6 - published) / published < 0.005, total
    # Stage 4 is not run (only the stride-16 map is used): frozen.
    stage4 = model.backbone.stages[4]
    assert not any(p.requires_grad for p in stage4.parameters())
    assert all(p.requires_grad for p in model.decode_head.parameters())


def test_tiny_count_against_the_authors_code():
    """The authors' model also holds the unused classifier norms (BN + LN
    of C4), 4 * 320 parameters for tiny: 9.01 M, not the published 8.56."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'lemevit_t_bit-dedim64_cdd.py'))
    total = sum(p.numel() for p in build(cfg.model).parameters())
    assert total + 4 * 320 == 9_009_378
    assert total / 1e6 > 8.56 * 1.05


@pytest.mark.parametrize('name', ['lemevit_t_bit_cdd.py',
                                  'lemevit_t_bit_levir-cd.py'])
def test_config_datasets_build(name, cdd_root, tmp_path):
    from mmseg.registry import DATASETS
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    root = cdd_root
    if 'levir' in name:
        root = make_synthetic_cd(str(tmp_path), dict(train=1, val=1, test=1),
                                 size=64, layout='levir')
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].dataset.data_root = root
        dataset = DATASETS.build(cfg[split].dataset)
        sample = dataset[0]
        assert sample['inputs'].shape[0] == 6
        labels = sample['data_samples'].gt_sem_seg.data
        assert set(labels.unique().tolist()) <= {0, 1}
        assert sample['data_samples'].img_path2.startswith(root)
    assert dataset.metainfo['classes'][1] == 'changed'
    model = build(cfg.model)
    assert model.test_cfg.mode == ('slide' if 'levir' in name else 'whole')


# ------------------------------------------------------------------ data


def write_pair(root: str, name: str, img_a: np.ndarray, img_b: np.ndarray,
               label: np.ndarray) -> dict:
    paths = dict(img_path=osp.join(root, f'{name}_A.png'),
                 img_path2=osp.join(root, f'{name}_B.png'),
                 seg_map_path=osp.join(root, f'{name}_label.png'))
    cv2.imwrite(paths['img_path'], img_a[..., ::-1])
    cv2.imwrite(paths['img_path2'], img_b[..., ::-1])
    cv2.imwrite(paths['seg_map_path'], label)
    return dict(paths, seg_fields=[], reduce_zero_label=False)


def test_dates_get_identical_geometric_augmentation(tmp_path):
    """Date B is date A seen with a known offset: A codes each pixel's
    (row, col), B codes (row + 7, col + 13). After the training pipeline
    of the CDD config (without the photometric step) B - A must still be
    (7, 13) everywhere, and the label must still sit where A says."""
    size, offset = 96, np.array([7, 13])
    rows, cols = np.mgrid[0:size, 0:size]
    img_a = np.stack([rows, cols, np.full_like(rows, 50)], -1)
    img_b = np.stack([rows + offset[0], cols + offset[1],
                      np.full_like(rows, 90)], -1)
    checker = ((rows // 16 + cols // 16) % 2).astype(np.uint8)
    info = write_pair(str(tmp_path), 'pair', img_a.astype(np.uint8),
                      img_b.astype(np.uint8), checker * 255)
    cfg = Config.fromfile(osp.join(CONFIGS, 'lemevit_t_bit_cdd.py'))
    steps = [t for t in cfg.train_pipeline
             if t['type'] not in ('BiTemporalPhotoMetricDistortion',
                                  'PackSegInputs')]
    for step in steps:
        if step['type'] == 'RandomResize':
            step['scale'] = (64, 64)
        if step['type'] == 'RandomCrop':
            step['crop_size'] = (64, 64)
    pipeline = Compose(steps)
    flipped = 0
    for seed in range(12):
        np.random.seed(seed)
        out = pipeline(copy.deepcopy(info))
        img, label = out['img'].astype(int), out['gt_seg_map']
        assert img.shape == (64, 64, 6) and label.shape == (64, 64)
        diff = img[..., 3:5] - img[..., 0:2]
        assert np.abs(diff - offset).max() <= 1, f'seed {seed}'
        assert np.abs(img[..., 5] - img[..., 2] - 40).max() <= 1
        expected = (img[..., 0] // 16 + img[..., 1] // 16) % 2
        # Only pixels on a checker edge may disagree (resampling).
        assert (expected == label).mean() > 0.9, f'seed {seed}'
        # Row codes decreasing along an axis: flipped or rotated.
        flipped += int(img[1, 0, 0] < img[0, 0, 0] or
                       img[0, 1, 0] < img[0, 0, 0])
    assert flipped > 0


def test_photometric_distortion_differs_per_date():
    from mmseg.registry import TRANSFORMS
    distort = TRANSFORMS.build(dict(type='BiTemporalPhotoMetricDistortion'))
    date = np.random.RandomState(0).randint(0, 255, (16, 16, 3), np.uint8)
    differs = 0
    for seed in range(5):
        np.random.seed(seed)
        out = distort(dict(img=np.concatenate([date, date], 2)))['img']
        differs += int(not np.array_equal(out[..., :3], out[..., 3:]))
    assert differs > 0
    with pytest.raises(ValueError, match='ConcatCDInput'):
        distort(dict(img=date))


def test_cdd_labels_thresholded_at_128(tmp_path):
    from mmseg.registry import TRANSFORMS
    image = np.zeros((4, 4, 3), np.uint8)
    label = np.array([[0, 127, 128, 255]] * 4, np.uint8)
    info = write_pair(str(tmp_path), 'x', image, image, label)
    load = Compose([dict(type='LoadImagePairFromFile'),
                    dict(type='LoadChangeAnnotation')])
    out = load(info)
    assert out['gt_seg_map'].tolist() == [[0, 0, 1, 1]] * 4
    small = write_pair(str(tmp_path), 'y', image, image, label[:2])
    with pytest.raises(ValueError, match='y_label.png'):
        load(small)
    other = write_pair(str(tmp_path), 'z', image, image[:2], label)
    with pytest.raises(ValueError, match='z_B.png'):
        TRANSFORMS.build(dict(type='LoadImagePairFromFile'))(other)


def cdd_split(root: str, names_a, names_b, names_label) -> dict:
    """A CDD-layout train split with the given file names (tiny images)."""
    for folder, names in (('A', names_a), ('B', names_b),
                          ('OUT', names_label)):
        os.makedirs(osp.join(root, 'train', folder), exist_ok=True)
        for name in names:
            cv2.imwrite(osp.join(root, 'train', folder, name),
                        np.zeros((8, 8), np.uint8))
    return dict(type='CDDDataset', data_root=root,
                data_prefix=dict(img_path='train/A', img_path2='train/B',
                                 seg_map_path='train/OUT'))


@pytest.mark.parametrize('case,message', [
    ('no_partner', r'date-A image .*train/A/2\.jpg has no date-B partner'),
    ('no_label', r'date-A image .*train/A/2\.jpg has no label'),
    ('orphan_b', r'date-B image .*train/B/3\.jpg has no date-A partner'),
])
def test_dataset_reports_unpaired_files(case, message, tmp_path):
    from mmseg.registry import DATASETS
    a = ['1.jpg', '2.jpg']
    b = {'no_partner': ['1.jpg'], 'orphan_b': ['1.jpg', '2.jpg', '3.jpg']}
    label = {'no_label': ['1.jpg']}
    cfg = cdd_split(str(tmp_path), a, b.get(case, a), label.get(case, a))
    with pytest.raises(FileNotFoundError, match=message):
        DATASETS.build(cfg)


def test_dataset_reports_missing_folder(tmp_path):
    from mmseg.registry import DATASETS
    with pytest.raises(FileNotFoundError, match='img_path2'):
        DATASETS.build(
            dict(type='CDDDataset', data_root=str(tmp_path),
                 data_prefix=dict(img_path='', img_path2='nope',
                                  seg_map_path='')))


# ---------------------------------------------------------------- metric


def test_metric_scores_the_changed_class():
    from mmseg.registry import METRICS
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    metric = METRICS.build(dict(type='ChangeDetectionMetric'))
    metric.dataset_meta = dict(classes=('unchanged', 'changed'))
    gt = torch.tensor([[1, 1, 1, 1, 0, 0, 0, 0, 0, 255]])
    pred = torch.tensor([[1, 1, 1, 0, 1, 1, 0, 0, 0, 1]])
    sample = SegDataSample(gt_sem_seg=PixelData(data=gt[None]),
                           pred_sem_seg=PixelData(data=pred[None]))
    metric.process({}, [sample.to_dict()])
    scores = metric.evaluate(1)
    # tp 3, fp 2, fn 1, tn 3 (the ignored pixel does not count).
    assert scores['precision'] == pytest.approx(60.0)
    assert scores['recall'] == pytest.approx(75.0)
    assert scores['F1'] == pytest.approx(66.67, abs=0.01)
    assert scores['IoU'] == pytest.approx(50.0)
    assert scores['OA'] == pytest.approx(66.67, abs=0.01)


# ----------------------------------------------------------------- model


def resnet18_bit(test_cfg: dict):
    return build(
        ConfigDict(
            type='SiameseEncoderDecoder',
            data_preprocessor=dict(
                type='MultiBandSegDataPreProcessor', mean=[128.] * 6,
                std=[64.] * 6,
                size=(64, 64)),
            backbone=dict(type='ResNet', depth=18, out_indices=(2, ),
                          norm_cfg=dict(type='BN')),
            decode_head=dict(
                type='BITHead', in_channels=256, in_index=0, channels=16,
                token_len=3, enc_depth=2, dec_depth=2, num_heads=2,
                enc_head_dim=8, dec_head_dim=8, mlp_channels=24,
                num_classes=2, out_channels=2, norm_cfg=dict(type='BN')),
            test_cfg=test_cfg))


def test_bit_head_on_resnet18_trains_and_infers():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    model = resnet18_bit(dict(mode='whole'))
    head = model.decode_head
    assert len(head.encoder) == 2 and len(head.decoder) == 2
    assert head.token_pos_embed.shape == (1, 6, 16)
    assert head.decoder[0].attn.to_q.out_features == 2 * 8
    inputs = torch.rand(2, 6, 64, 64) * 255
    samples = [
        SegDataSample(
            gt_sem_seg=PixelData(data=torch.randint(0, 2, (1, 64, 64))),
            metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                          pad_shape=(64, 64))) for _ in range(2)
    ]
    batch = model.data_preprocessor(
        dict(inputs=list(inputs), data_samples=samples), True)
    losses = model(**batch, mode='loss')
    losses['decode.loss_ce'].backward()
    assert torch.isfinite(losses['decode.loss_ce'])
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        logits = model(batch['inputs'], mode='tensor')
        assert logits.shape == (2, 2, 64, 64)
        whole = model.inference(batch['inputs'],
                                [s.metainfo for s in samples])
        model.test_cfg = ConfigDict(mode='slide', crop_size=(32, 32),
                                    stride=(16, 16))
        slide = model.inference(batch['inputs'],
                                [s.metainfo for s in samples])
    assert whole.shape == slide.shape == (2, 2, 64, 64)
    assert not torch.allclose(whole, slide)


def test_siamese_model_rejects_single_date_input():
    model = resnet18_bit(dict(mode='whole'))
    with pytest.raises(ValueError, match=r'\(B, 6, H, W\).*got \(1, 3'):
        model.extract_feat(torch.zeros(1, 3, 64, 64))


def test_lemevit_dates_share_the_backbone():
    cfg = Config.fromfile(osp.join(CONFIGS, 'lemevit_t_bit_cdd.py'))
    model = build(cfg.model).eval()
    image = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.extract_feat(torch.cat([image, image], 1))
        single = model.backbone(image)[0]
    assert len(feats) == 1 and feats[0].shape == (2, 192, 4, 4)
    torch.testing.assert_close(feats[0][:1], single)
    torch.testing.assert_close(feats[0][1:], single)


def test_bit_attention_math():
    """Pixels attend to tokens with logits scaled by width ** -0.5 (the
    token width, as in BIT), heads of head_dim concatenated."""
    from lemevit_mm.cd.bit_head import TokenAttention
    attn = TokenAttention(dim=32, num_heads=2, head_dim=4)
    query, memory = torch.randn(1, 5, 32), torch.randn(1, 3, 32)
    q, k, v = attn.to_q(query), attn.to_k(memory), attn.to_v(memory)
    heads = []
    for h in range(2):
        part = slice(4 * h, 4 * h + 4)
        weights = (q[0, :, part] @ k[0, :, part].T * 32**-0.5).softmax(-1)
        heads.append(weights @ v[0, :, part])
    expected = attn.to_out(torch.cat(heads, dim=1))
    torch.testing.assert_close(attn(query, memory)[0], expected)


def test_bit_tokens_are_attention_pooled_features():
    model = resnet18_bit(dict(mode='whole'))
    head = model.decode_head
    feats = torch.randn(2, 16, 5, 7)
    weights = head.token_attention(feats).flatten(2).softmax(-1)
    tokens = head.tokenize(feats)
    assert tokens.shape == (2, 3, 16)
    torch.testing.assert_close(
        tokens[1, 2], (feats[1].flatten(1) * weights[1, 2]).sum(1))
