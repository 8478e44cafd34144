"""Oriented detection: configs, DOTA data tools, metric, end to end."""
import os
import os.path as osp
import re
import shutil
import zipfile

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import lemevit_mm  # noqa: F401
from lemevit_mm.det.dota_annotations import (DOTA_V1_CLASSES,
                                             parse_annotation_lines,
                                             read_annotation_file)
from lemevit_mm.testing.det import make_synthetic_dota

from helpers import BACKBONE_PARAMS, REPO, run_tool

CONFIGS = osp.join(REPO, 'configs', 'det')
VARIANTS = dict(t=('tiny', 25.37e6), s=('small', 33.15e6),
                b=('base', 69.76e6))
PATCH = 128  # split patch size of the tests (images are 160 x 192)

# Bad lines added to the raw labels before splitting: each must be
# reported with its file and line, and skipped.
BAD_LINES = [
    '10 10 40 10 40 30 small-vehicle 0',  # 6 coordinates
    '10 10 40 10 40 30 10 30 car 0',  # not a DOTA class
    '10 10 40 10 40 10 10 10 large-vehicle 0',  # zero area
]


@pytest.fixture(scope='session')
def dota_data(tmp_path_factory):
    """Synthetic DOTA with bad label lines, split by the documented
    command into 128 px patches (gap 32, 4 patches per image)."""
    root = tmp_path_factory.mktemp('dota')
    raw, split = str(root / 'raw'), str(root / 'split')
    ids = make_synthetic_dota(raw, dict(train=2, val=1, test=1),
                              image_size=(160, 192),
                              objects_per_image=(5, 6), seed=1)
    bad_file = osp.join(raw, 'train', 'labelTxt', ids['train'][0] + '.txt')
    with open(bad_file) as f:
        good_lines = f.read().splitlines()
    with open(bad_file, 'a') as f:
        f.write('\n'.join(BAD_LINES) + '\n')
    log = run_tool('tools/dataset_converters/dota.py', 'split', raw, split,
                   '--size', str(PATCH), '--gap', '32', '--nproc', '1')
    return dict(raw=raw, split=split, ids=ids, log=log, bad_file=bad_file,
                first_bad_line=len(good_lines) + 1)


def _small_run_config(base: str, data_root: str, labelled_test=True) -> str:
    """A config inheriting ``base`` for a fast CPU run on the patches:
    same detector type and backbone, smaller heads and proposal counts."""
    test_pipeline = [
        "dict(type='mmdet.LoadImageFromFile')",
        f"dict(type='mmdet.Resize', scale=({PATCH}, {PATCH}), "
        'keep_ratio=True)',
    ]
    if labelled_test:
        test_pipeline += [
            "dict(type='mmdet.LoadAnnotations', with_bbox=True, "
            "box_type='qbox')",
            "dict(type='ConvertBoxType', "
            "box_type_mapping=dict(gt_bboxes='rbox'))",
        ]
    test_pipeline.append(
        "dict(type='mmdet.PackDetInputs', meta_keys=('img_id', 'img_path',"
        " 'ori_shape', 'img_shape', 'scale_factor'))")
    return f'''
_base_ = [{base!r}]
data_root = {data_root!r}
patch = ({PATCH}, {PATCH})
model = dict(
    backbone=dict(init_cfg=None),
    neck=dict(out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=128)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=100),
                   rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=100),
                  # low, so that a barely trained model outputs boxes
                  rcnn=dict(nms_pre=100, max_per_img=50, score_thr=1e-3)))
train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.Resize', scale=patch, keep_ratio=True),
    dict(type='mmdet.RandomFlip', prob=0.75,
         direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='mmdet.PackDetInputs')
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CheckedDOTADataset',
                 data_root=data_root, ann_file='train/annfiles/',
                 data_prefix=dict(img_path='train/images/'),
                 img_shape=patch, filter_cfg=dict(filter_empty_gt=True),
                 pipeline=train_pipeline))
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, img_shape=patch,
                 pipeline=[{", ".join(test_pipeline)}]))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(nproc=1)
train_cfg = dict(max_epochs=1)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(save_optimizer=False))
'''


def _build_detector(cfg):
    from mmrotate.registry import MODELS
    init_default_scope('mmrotate')
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('variant', sorted(VARIANTS))
def test_config_builds_with_published_param_count(variant):
    arch, published = VARIANTS[variant]
    cfg = Config.fromfile(
        osp.join(CONFIGS, f'lemevit_{variant}_oriented-rcnn_dota.py'))
    # The recipe of the paper.
    assert cfg.model.type == 'mmdet.FasterRCNN'
    assert cfg.model.rpn_head.type == 'OrientedRPNHead'
    assert cfg.model.rpn_head.bbox_coder.type == 'MidpointOffsetCoder'
    assert cfg.model.roi_head.bbox_head.num_classes == 15
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 1e-3
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.auto_scale_lr.base_batch_size == 8
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    # train on train+val patches, evaluate on val, 1024 px patches
    train_sets = cfg.train_dataloader.dataset.datasets
    assert [d.ann_file for d in train_sets] == [
        'train/annfiles/', 'val/annfiles/']
    assert cfg.test_dataloader.dataset.ann_file == 'val/annfiles/'
    assert {d.type for d in [*train_sets, cfg.test_dataloader.dataset]} == {
        'CheckedDOTADataset'}
    assert cfg.test_evaluator.type == 'DOTAClassAPMetric'
    assert 'ConcatDataset' in cfg.pretty_text
    cfg.model.backbone.init_cfg = None
    model = _build_detector(cfg)
    assert model.backbone.embed_dims[1:] == [
        conv.conv.in_channels for conv in model.neck.lateral_convs]
    total = sum(p.numel() for p in model.parameters())
    backbone = sum(p.numel() for p in model.backbone.parameters())
    assert backbone == BACKBONE_PARAMS[arch]
    assert abs(total - published) / published < 0.005, total
    # Four dense maps in, five 256-channel levels out.
    if variant == 't':
        model.eval()
        with torch.no_grad():
            feats = model.extract_feat(torch.zeros(1, 3, 64, 96))
        assert [tuple(f.shape) for f in feats] == [
            (1, 256, 16, 24), (1, 256, 8, 12), (1, 256, 4, 6),
            (1, 256, 2, 3), (1, 256, 1, 2)]


@pytest.mark.parametrize('variant', sorted(VARIANTS))
def test_submission_config_reads_test_split(variant):
    cfg = Config.fromfile(
        osp.join(CONFIGS, f'lemevit_{variant}_oriented-rcnn_dota_task1.py'))
    assert cfg.test_dataloader.dataset.ann_file == ''
    assert cfg.test_dataloader.dataset.data_prefix.img_path == 'test/images/'
    assert cfg.test_evaluator.merge_patches and cfg.test_evaluator.format_only
    assert not any('LoadAnnotations' in t.type
                   for t in cfg.test_dataloader.dataset.pipeline)
    assert cfg.model.backbone.arch == VARIANTS[variant][0]


def test_backbone_loads_classifier_checkpoint_through_init_cfg(
        official_tiny):
    cfg = Config.fromfile(osp.join(CONFIGS, 'lemevit_t_oriented-rcnn_dota.py'))
    cfg.model.backbone.init_cfg.checkpoint = official_tiny
    model = _build_detector(cfg)
    model.backbone.init_weights()
    official = torch.load(official_tiny, weights_only=True)
    official = official.get('state_dict', official)
    stem = model.backbone.state_dict()
    assert torch.equal(official['meta_tokens'], stem['meta_tokens'])
    assert torch.equal(official['downsample_layers.0.0.weight'],
                       stem['stem.0.weight'])


def test_annotation_parser_reports_bad_lines_and_keeps_good_ones():
    lines = ['imagesource:GoogleEarth', 'gsd:0.146',
             '0 0 10 0 10 5 0 5 plane 0',
             *BAD_LINES,
             '0 0 10 0 10 5 0 5 ship',  # no difficulty: 0, as DOTA tools
             '0 0 10 0 10 5 0 5 ship x',
             '0 0 10 0 10 nan 0 5 ship 1', '']
    objects, problems = parse_annotation_lines(lines, 'P1.txt')
    assert [(o.class_name, o.difficulty) for o in objects] == [
        ('plane', 0), ('ship', 0)]
    assert objects[0].polygon == [0, 0, 10, 0, 10, 5, 0, 5]
    assert [p.line for p in problems] == [4, 5, 6, 8, 9]
    text = [str(p) for p in problems]
    assert text[0].startswith('P1.txt:4: expected 8 coordinates')
    assert "unknown class 'car'" in text[1]
    assert 'zero area' in text[2]
    assert 'difficulty' in text[3] and 'non-finite' in text[4]


def test_synthetic_dataset_is_in_dota_format(tmp_path):
    ids = make_synthetic_dota(str(tmp_path), dict(train=2, val=1, test=1),
                              image_size=(96, 128), seed=3)
    assert sorted(os.listdir(tmp_path)) == ['test', 'train', 'val']
    assert not osp.exists(tmp_path / 'test' / 'labelTxt')
    for img_id in ids['train'] + ids['val']:
        split = 'train' if img_id in ids['train'] else 'val'
        label = tmp_path / split / 'labelTxt' / f'{img_id}.txt'
        raw = label.read_text().splitlines()
        assert raw[0].startswith('imagesource:') and raw[1] == 'gsd:0.5'
        objects, problems = read_annotation_file(str(label))
        assert not problems and objects
        for obj in objects:
            assert obj.class_name in DOTA_V1_CLASSES
            assert obj.difficulty in (0, 1)
            xy = np.array(obj.polygon).reshape(4, 2)
            assert (xy >= 0).all() and (xy[:, 0] <= 128).all()
            assert (xy[:, 1] <= 96).all()
            sides = np.linalg.norm(xy - np.roll(xy, 1, 0), axis=1)
            # a rectangle: opposite sides equal
            np.testing.assert_allclose(sides[:2], sides[2:], atol=0.3)
        image = cv2.imread(
            str(tmp_path / split / 'images' / f'{img_id}.png'))
        assert image.shape == (96, 128, 3)
    # Objects are rotated at various angles, not axis-aligned.
    angles = {round(np.degrees(np.arctan2(p[3] - p[1], p[2] - p[0])))
              for img_id in ids['train']
              for p in (o.polygon for o in read_annotation_file(
                  str(tmp_path / 'train' / 'labelTxt' / f'{img_id}.txt'))[0])}
    assert len(angles) >= 4


def test_split_reports_bad_lines_and_writes_patches(dota_data):
    log = dota_data['log']
    first = dota_data['first_bad_line']
    for offset, reason in enumerate(
            ['expected 8 coordinates', "unknown class 'car'",
             'polygon of zero area']):
        assert f"{dota_data['bad_file']}:{first + offset}: {reason}" in log
    assert '3 invalid annotation line(s) skipped' in log
    split = dota_data['split']
    for name, ids in dota_data['ids'].items():
        patches = sorted(os.listdir(osp.join(split, name, 'images')))
        assert len(patches) == 4 * len(ids)
        assert patches[0] == f'{ids[0]}__{PATCH}__0___0.png'
    for name in ('train', 'val'):
        ann_dir = osp.join(split, name, 'annfiles')
        for txt in os.listdir(ann_dir):
            objects, problems = read_annotation_file(osp.join(ann_dir, txt))
            assert not problems
            assert all(o.class_name != 'car' for o in objects)


def test_dataset_skips_bad_lines_and_metric_stays_exact(dota_data, tmp_path):
    """Bad lines written straight into a patch annotation file are logged
    and skipped; ground truth given as predictions scores mAP 1."""
    from mmengine.logging import MMLogger
    from mmrotate.registry import DATASETS, METRICS
    init_default_scope('mmrotate')
    root = tmp_path / 'val'
    shutil.copytree(osp.join(dota_data['split'], 'val'), root)
    txt = sorted((root / 'annfiles').iterdir())[0]
    good = read_annotation_file(str(txt))[0]
    with open(txt, 'a') as f:
        f.write('\n'.join(BAD_LINES) + '\n')
    # the current logger, which the dataset reports to
    MMLogger.get_instance('test_det_bad_lines',
                          log_file=str(tmp_path / 'log.txt'))
    pipeline = [
        dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox'))
    ]
    dataset = DATASETS.build(dict(
        type='CheckedDOTADataset', data_root=str(tmp_path),
        ann_file='val/annfiles/', data_prefix=dict(img_path='val/images/'),
        img_shape=(PATCH, PATCH), test_mode=True, pipeline=pipeline))
    log = (tmp_path / 'log.txt').read_text()
    assert f'{txt}:{len(good) + 1}: expected 8 coordinates' in log
    assert f'{txt}:{len(good) + 3}: polygon of zero area' in log
    info = dataset.get_data_info(0)
    assert info['img_id'] == txt.stem
    assert len(info['instances']) == len(good)

    def evaluate(samples):
        metric = METRICS.build(dict(type='DOTAClassAPMetric', nproc=1))
        metric.dataset_meta = dataset.metainfo
        metric.process({}, samples)
        return metric.evaluate(len(samples))

    samples = []
    for i in range(len(dataset)):
        item = dataset[i]
        bboxes = item['gt_bboxes'].tensor
        labels = torch.as_tensor(item['gt_bboxes_labels'])
        # matched predictions plus a lower-scored false positive
        fp = torch.tensor([[-50., -50., 4., 4., 0.]])
        samples.append(dict(
            img_id=item['img_id'],
            gt_instances=dict(bboxes=bboxes, labels=labels),
            ignored_instances=dict(bboxes=torch.zeros(0, 5),
                                   labels=torch.zeros(0, dtype=torch.long)),
            pred_instances=dict(
                bboxes=torch.cat([bboxes, fp]),
                scores=torch.cat([torch.ones(len(bboxes)),
                                  torch.full((1, ), 0.5)]),
                labels=torch.cat([labels, labels[:1]]))))
    all_labels = torch.cat([s['gt_instances']['labels'] for s in samples])
    present = {DOTA_V1_CLASSES[i] for i in all_labels.tolist()}
    results = evaluate(samples)
    assert results['dota/mAP'] == 1.0 and results['dota/AP50'] == 1.0
    assert {k for k in results if k.startswith('dota/AP50_')} == {
        f'dota/AP50_{c}' for c in present}

    # Miss one object of the most frequent class: its recall drops to
    # (n - 1) / n at precision 1, and the 11-point AP follows.
    label = int(all_labels.mode().values)
    name, count = DOTA_V1_CLASSES[label], int((all_labels == label).sum())
    sample = next(s for s in samples
                  if label in s['gt_instances']['labels'].tolist())
    pred = sample['pred_instances']
    keep = torch.ones(len(pred['labels']), dtype=torch.bool)
    keep[pred['labels'].tolist().index(label)] = False
    sample['pred_instances'] = {k: v[keep] for k, v in pred.items()}
    expected = sum(t / 10 <= (count - 1) / count for t in range(11)) / 11
    results = evaluate(samples)
    assert results[f'dota/AP50_{name}'] == pytest.approx(expected, abs=1e-4)
    assert results['dota/AP50'] == pytest.approx(
        (len(present) - 1 + expected) / len(present), abs=1e-4)

    # An annotation file without its image is a clear error.
    (root / 'images' / f'{txt.stem}.png').unlink()
    with pytest.raises(FileNotFoundError, match=f'{txt.stem}.png'):
        DATASETS.build(dict(
            type='CheckedDOTADataset', data_root=str(tmp_path),
            ann_file='val/annfiles/',
            data_prefix=dict(img_path='val/images/'), pipeline=[]))


def test_train_evaluate_and_submit_end_to_end(dota_data, tmp_path):
    split = str(tmp_path / 'split') + '/'
    shutil.copytree(dota_data['split'], split)
    # Bad lines in a patch label file too: training must not trip on them.
    ann = sorted(os.listdir(osp.join(split, 'train', 'annfiles')))[0]
    with open(osp.join(split, 'train', 'annfiles', ann), 'a') as f:
        f.write('\n'.join(BAD_LINES) + '\n')
    train_cfg = tmp_path / 'train_cfg.py'
    train_cfg.write_text(_small_run_config(
        osp.join(CONFIGS, 'lemevit_t_oriented-rcnn_dota.py'), split))
    work = tmp_path / 'work'
    log = run_tool('tools/train.py', str(train_cfg), '--work-dir', str(work))
    assert f'{ann}:' in log and 'unknown class' in log
    ann_dir = osp.join(split, 'train', 'annfiles')
    labelled = sum(bool(read_annotation_file(osp.join(ann_dir, name))[0])
                   for name in os.listdir(ann_dir))
    losses = [float(v) for v in re.findall(r' loss: ([\d.]+)', log)]
    assert len(losses) == (labelled + 1) // 2  # batch 2, empty ones dropped
    assert all(np.isfinite(losses))
    checkpoint = work / 'epoch_1.pth'
    assert checkpoint.is_file()

    log = run_tool('tools/test.py', str(train_cfg), str(checkpoint),
                   '--work-dir', str(tmp_path / 'test'))
    assert re.search(r'\| class +\| gts \| dets \| recall \| ap', log)
    found = re.search(r'dota/mAP: ([\d.]+)', log)
    assert found, log[-3000:]
    assert 0.0 <= float(found.group(1)) <= 1.0

    submit_cfg = tmp_path / 'submit_cfg.py'
    prefix = tmp_path / 'submission' / 'Task1'
    submit_cfg.write_text(_small_run_config(
        osp.join(CONFIGS, 'lemevit_t_oriented-rcnn_dota_task1.py'), split,
        labelled_test=False)
        + 'test_evaluator = dict(nproc=1, outfile_prefix='
        f'{str(prefix)!r})\n')
    run_tool('tools/test.py', str(submit_cfg), str(checkpoint),
             '--work-dir', str(tmp_path / 'submit'))
    files = sorted(p.name for p in prefix.glob('Task1_*.txt'))
    assert files == sorted(f'Task1_{c}.txt' for c in DOTA_V1_CLASSES)
    with zipfile.ZipFile(prefix / 'Task1.zip') as archive:
        assert sorted(archive.namelist()) == files
    test_ids = set(dota_data['ids']['test'])
    lines = [line.split() for name in files
             for line in (prefix / name).read_text().splitlines()]
    assert lines, 'no detection written'
    for fields in lines:
        # merged back to the original image: its id, no patch suffix
        assert len(fields) == 10 and fields[0] in test_ids
        score, *coords = map(float, fields[1:])
        assert 0.0 <= score <= 1.0
        assert all(np.isfinite(coords))
