"""Semantic segmentation: UperNet + LeMeViT on ISPRS Potsdam (mmseg)."""
import glob
import os.path as osp
import pickle
import re

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import lemevit_mm  # noqa: F401  (registers the seg parts)
from lemevit_mm.models import LeMeViT
from lemevit_mm.seg import OverallAccuracyF1Metric
from lemevit_mm.testing.seg import (BOUNDARY, CLUTTER, NUM_RAW_IDS,
                                    render_sample_tiles, make_potsdam_sample,
                                    write_isprs_archives)

from helpers import (REPO, assert_dense_match, load_config, load_tool,
                     model_index_parsed_once, run_tool)

SEG_CONFIGS = osp.join(REPO, 'configs', 'seg')
SAMPLE_CONFIG = osp.join(SEG_CONFIGS, 'lemevit_t_upernet_potsdam_sample.py')
# Published UperNet parameter counts (millions) on Potsdam.
PUBLISHED_PARAMS = {'t': 37.05, 's': 45.59, 'b': 83.19}
SCORED = ('impervious_surface', 'building', 'low_vegetation', 'tree', 'car')


@pytest.fixture(scope='module', autouse=True)
def _fast_config_parsing():
    """Parse each package's model index once (see tests/helpers.py)."""
    with model_index_parsed_once():
        yield


def with_data_root(cfg: Config, data_root: str) -> Config:
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    return cfg


def build_dataset(cfg: Config, loader: str):
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    return DATASETS.build(cfg[loader].dataset)


@pytest.fixture(scope='session')
def sample_root(tmp_path_factory) -> str:
    """A small synthetic Potsdam in mmseg's converted layout."""
    root = str(tmp_path_factory.mktemp('potsdam_sample'))
    counts = make_potsdam_sample(root, num_train=4, num_val=2, size=128)
    assert counts == {'train': 4, 'val': 2}
    return root


# --------------------------------------------------------------- configs
@pytest.mark.parametrize('variant', sorted(PUBLISHED_PARAMS))
def test_config_builds_with_published_parameter_count(variant, sample_root):
    from mmseg.registry import MODELS
    cfg = load_config(
        osp.join(SEG_CONFIGS, f'lemevit_{variant}_upernet_potsdam.py'))
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    widths = LeMeViT.arch_zoo[variant]['embed_dims'][1:]
    assert model.decode_head.in_channels == widths
    assert model.auxiliary_head.in_channels == widths[2]
    assert model.decode_head.num_classes == 5
    assert cfg.model.test_cfg == dict(mode='slide', crop_size=(512, 512),
                                      stride=(384, 384))
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert params == pytest.approx(PUBLISHED_PARAMS[variant], rel=5e-3)

    # The recipe: AdamW 4e-4 / 0.05, 1500 warm-up iterations, poly, 80k.
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 4e-4
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.end, poly.type, poly.end) == (
        'LinearLR', 1500, 'PolyLR', 80000)
    assert cfg.train_cfg.max_iters == 80000

    # Its datasets and evaluator build too (on the sample's files).
    with_data_root(cfg, sample_root)
    train_set = build_dataset(cfg, 'train_dataloader')
    val_set = build_dataset(cfg, 'val_dataloader')
    assert (len(train_set), len(val_set)) == (4, 2)
    assert train_set.metainfo['classes'] == SCORED
    crop = train_set[0]['inputs']
    assert crop.shape[0] == 3 and max(crop.shape[1:]) <= 512


def test_every_seg_config_parses():
    configs = sorted(glob.glob(osp.join(SEG_CONFIGS, '*.py')))
    assert len(configs) >= 4
    for path in configs:
        cfg = load_config(path)
        assert cfg.default_scope == 'mmseg', path
        assert cfg.custom_imports.imports == ['lemevit_mm'], path
        assert cfg.model.backbone.type == 'LeMeViT', path
        arch = cfg.model.backbone.arch
        widths = LeMeViT.arch_zoo[arch]['embed_dims'][1:]
        assert cfg.model.decode_head.in_channels == widths, path


def test_sample_config_keeps_the_tiny_model():
    sample = load_config(SAMPLE_CONFIG)
    tiny = load_config(
        osp.join(SEG_CONFIGS, 'lemevit_t_upernet_potsdam.py'))
    for part in ('backbone', 'decode_head', 'auxiliary_head'):
        assert sample.model[part] == tiny.model[part]
    assert sample.model.test_cfg.mode == 'slide'


# ------------------------------------------------------------------ data
def test_synthetic_sample_matches_mmseg_converter(tmp_path):
    """The ISPRS archives of the generator, converted by the documented
    command (mmseg's converter), give the generator's tiles and ids."""
    raw = tmp_path / 'raw'
    write_isprs_archives(str(raw), num_train=1, num_val=1, size=96,
                         eroded=True)
    out = tmp_path / 'potsdam'
    log = run_tool('tools/dataset_converters/potsdam.py', str(raw), '-o',
                   str(out), '--clip-size', '64', '--stride-size', '32')
    assert 'train: 4 images, 4 label maps' in log
    tiles = render_sample_tiles(1, 1, 96, 0, 1)
    for tile in tiles:
        crops = sorted(glob.glob(
            str(out / 'ann_dir' / tile['split'] / f"{tile['name']}_*.png")))
        assert len(crops) == 4
        for path in crops:
            x0, y0, x1, y1 = map(int, osp.basename(path)[:-4].split('_')[2:])
            label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(label,
                                          tile['label'][y0:y1, x0:x1])
            image = cv2.imread(path.replace('ann_dir', 'img_dir'))
            np.testing.assert_array_equal(image[..., ::-1],
                                          tile['image'][y0:y1, x0:x1])
    # Every raw id occurs: 0 boundary, 1-5 scored classes, 6 clutter.
    ids = np.concatenate([t['label'].ravel() for t in tiles])
    assert set(np.unique(ids)) == set(range(NUM_RAW_IDS))


def test_converter_picks_archives_and_reports_missing_ones(tmp_path):
    tool = load_tool('tools/dataset_converters/potsdam.py')
    with pytest.raises(FileNotFoundError, match='2_Ortho_RGB.zip'):
        tool.choose_archives(str(tmp_path))
    write_isprs_archives(str(tmp_path), 1, 0, size=32, eroded=False)
    write_isprs_archives(str(tmp_path), 1, 0, size=32, eroded=True)
    (tmp_path / '3_Ortho_IRRG.zip').write_bytes(b'')  # must be left alone
    with pytest.raises(FileNotFoundError, match='--labels'):
        tool.choose_archives(str(tmp_path))
    chosen = tool.choose_archives(str(tmp_path), 'all')
    assert [osp.basename(p) for p in chosen] == ['2_Ortho_RGB.zip',
                                                 '5_Labels_all.zip']


def test_dataset_maps_ids_like_mmseg_and_ignores_clutter(sample_root):
    cfg = with_data_root(load_config(SAMPLE_CONFIG), sample_root)
    val_set = build_dataset(cfg, 'val_dataloader')
    data = val_set[0]
    raw = cv2.imread(data['data_samples'].seg_map_path,
                     cv2.IMREAD_UNCHANGED).astype(np.int64)
    label = data['data_samples'].gt_sem_seg.data[0].numpy()
    expected = raw - 1
    expected[(raw == BOUNDARY) | (raw == CLUTTER)] = 255
    np.testing.assert_array_equal(label, expected)


def test_missing_annotation_names_the_file(tmp_path):
    root = tmp_path / 'data'
    make_potsdam_sample(str(root), num_train=2, num_val=1, size=64)
    victim = sorted((root / 'ann_dir' / 'train').iterdir())[1]
    victim.unlink()
    cfg = with_data_root(load_config(SAMPLE_CONFIG), str(root))
    with pytest.raises(FileNotFoundError, match=re.escape(str(victim))):
        build_dataset(cfg, 'train_dataloader')


@pytest.mark.parametrize('loader', ['train_dataloader', 'val_dataloader'])
def test_out_of_range_label_names_the_file(tmp_path, loader):
    root = tmp_path / 'data'
    make_potsdam_sample(str(root), num_train=1, num_val=1, size=64)
    split = 'train' if loader == 'train_dataloader' else 'val'
    path = next((root / 'ann_dir' / split).iterdir())
    label = np.full((64, 64), 9, np.uint8)  # every crop sees id 9
    cv2.imwrite(str(path), label)
    cfg = with_data_root(load_config(SAMPLE_CONFIG), str(root))
    dataset = build_dataset(cfg, loader)
    with pytest.raises(ValueError, match=re.escape(str(path)) +
                       r'.*label ids \[9\] are outside the valid range 0-6'):
        dataset[0]


def test_colour_label_names_the_file(tmp_path):
    root = tmp_path / 'data'
    make_potsdam_sample(str(root), num_train=1, num_val=1, size=64)
    path = next((root / 'ann_dir' / 'val').iterdir())
    cv2.imwrite(str(path), np.full((64, 64, 3), 255, np.uint8))
    cfg = with_data_root(load_config(SAMPLE_CONFIG), str(root))
    with pytest.raises(ValueError, match=re.escape(str(path)) +
                       '.*single-channel'):
        build_dataset(cfg, 'val_dataloader')[0]


# --------------------------------------------------------------- metric
def test_metric_reports_oa_mf1_miou_over_scored_pixels():
    metric = OverallAccuracyF1Metric()
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    gt = torch.tensor([[0, 0, 0, 1, 2, 2], [1, 1, 255, 255, 2, 0]])
    pred = torch.tensor([[0, 0, 1, 1, 0, 1], [1, 0, 1, 0, 1, 0]])
    metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]),
                             gt_sem_seg=dict(data=gt[None]))])
    scores = metric.compute_metrics(metric.results)
    # 10 scored pixels, 5 right. a: TP 3, predicted 5, true 4 -> F1 6/9,
    # IoU 3/6; b: TP 2, predicted 5, true 3 -> F1 4/8, IoU 2/6; c is never
    # predicted: F1 0 (not NaN, which would drop it from the mean), IoU 0.
    assert list(scores) == ['OA', 'mF1', 'mIoU']
    assert scores['OA'] == pytest.approx(50.0, abs=0.01)
    assert scores['mF1'] == pytest.approx(100 * (6 / 9 + 4 / 8) / 3,
                                          abs=0.01)
    assert scores['mIoU'] == pytest.approx(100 * (3 / 6 + 2 / 6) / 3,
                                           abs=0.01)


# ------------------------------------------------------------ pretrained
def test_classifier_checkpoints_initialise_the_backbone(
        official_tiny, reference_io, tmp_path):
    """An authors' classifier file and a project (mmpretrain) classifier
    checkpoint both load via model.backbone.init_cfg; heads are ignored."""
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    official = torch.load(official_tiny, weights_only=True)
    project_ckpt = tmp_path / 'cls.pth'
    model = LeMeViT('tiny')
    model.load_pretrained(official_tiny)
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    state.update({'head.fc.weight': torch.zeros(10, 320),
                  'head.fc.bias': torch.zeros(10)})
    torch.save({'state_dict': state, 'meta': {}}, project_ckpt)

    for checkpoint, prefix in ((official_tiny, None),
                               (str(project_ckpt), 'backbone.')):
        cfg = load_config(SAMPLE_CONFIG)
        # As --cfg-options model.backbone.init_cfg.type=Pretrained ...
        cfg.merge_from_dict({
            'model.backbone.init_cfg.type': 'Pretrained',
            'model.backbone.init_cfg.checkpoint': checkpoint,
            'model.backbone.init_cfg.prefix': prefix})
        segmentor = MODELS.build(cfg.model)
        segmentor.init_weights()
        segmentor.eval()
        with torch.no_grad():
            feats = segmentor.extract_feat(reference_io['dense_input'])
        assert_dense_match(feats, reference_io)
    assert any(k.startswith('head') for k in official)


# ------------------------------------------------------------ end to end
def test_train_then_slide_test_reports_oa_mf1_miou(sample_root, tmp_path):
    work = tmp_path / 'work'
    roots = [f'{loader}.dataset.data_root={sample_root}' for loader in
             ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    log = run_tool('tools/train.py', SAMPLE_CONFIG, '--work-dir', str(work),
                   '--cfg-options', 'train_cfg.max_iters=2',
                   'train_cfg.val_interval=2',
                   'default_hooks.checkpoint.interval=2', *roots)
    assert re.search(r'Iter\(train\) \[2/2\].*loss: \d', log), log[-3000:]
    assert re.search(r'Iter\(val\).*OA: [\d.]+\s+mF1: [\d.]+\s+mIoU', log)
    checkpoint = work / 'iter_2.pth'
    assert checkpoint.is_file()

    preds = tmp_path / 'preds.pkl'
    log = run_tool('tools/test.py', SAMPLE_CONFIG, str(checkpoint),
                   '--work-dir', str(tmp_path / 'test'), '--out', str(preds),
                   '--show-dir', str(tmp_path / 'vis'), '--cfg-options',
                   *roots)
    scores = {k: float(v) for k, v in re.findall(
        r'\b(OA|mF1|mIoU): ([\d.]+)', log.split('Iter(test)')[-1])}
    assert set(scores) == {'OA', 'mF1', 'mIoU'}, log[-3000:]
    # The per-class table names the five scored classes, not clutter.
    table = log[log.index('per class results'):]
    for name in SCORED:
        assert name in table
    assert 'clutter' not in table

    # The reported OA is the pixel accuracy of the dumped predictions on
    # the scored pixels (slide inference gives full-size maps).
    with open(preds, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 2
    right = total = 0
    for result in results:
        raw = cv2.imread(result['seg_map_path'], cv2.IMREAD_UNCHANGED)
        pred = result['pred_sem_seg']['data'][0].numpy()
        assert pred.shape == raw.shape == (128, 128)
        scored = (raw != BOUNDARY) & (raw != CLUTTER)
        right += int((pred[scored] == raw[scored] - 1).sum())
        total += int(scored.sum())
    assert scores['OA'] == pytest.approx(100 * right / total, abs=0.01)
    assert 0 <= scores['mIoU'] <= scores['mF1'] <= 100
    # --show-dir drew both val tiles.
    drawn = glob.glob(str(tmp_path / 'vis' / '**' / '*.png'), recursive=True)
    assert len(drawn) == 2
