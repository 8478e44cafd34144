"""Oriented-detection benchmarks beyond DOTA-v1.0: a user's own classes in
DOTA text, DIOR-R, HRSC2016, DOTA-v1.5/v2.0 and multi-scale DOTA-v1.0;
their converters on generated samples in the official layouts, one
training iteration and the official metric, checked by hand."""
import copy
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import lemevit_mm  # noqa: F401
from lemevit_mm.det.class_lists import (DIOR_CLASSES, DOTA_V2_CLASSES,
                                        DOTA_V15_CLASSES, classes_from_config,
                                        read_class_list)
from lemevit_mm.det.dota_annotations import read_annotation_file
from lemevit_mm.det.xml_annotations import (read_dior_file, read_hrsc_file,
                                            rbox_to_polygon)
from lemevit_mm.testing.samples_det import (make_dior_sample,
                                            make_dota_text_sample,
                                            make_hrsc_sample)

from helpers import REPO, fast_runner_configs, load_config, load_tool

CONFIGS = osp.join(REPO, 'configs', 'det')
SIZE = 128


@pytest.fixture(scope='module', autouse=True)
def _fast_configs():
    with fast_runner_configs():
        yield


def run_main(tool: str, *args: str):
    """Run a converter's ``main`` in this process; ``(exit code,
    message)`` (0 and '' when it returns)."""
    module = load_tool(tool)
    argv = sys.argv
    sys.argv = [tool, *args]
    try:
        module.main()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1, str(stop)
    finally:
        sys.argv = argv
    return 0, ''


def small_run(cfg: Config, data_root: str, work_dir: str) -> Config:
    """``cfg`` for one CPU iteration and a test pass at 128 px: same
    detector, narrower heads, fewer proposals, no workers."""
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.init_cfg = None
    cfg.model.neck.out_channels = 64
    cfg.model.rpn_head.update(in_channels=64, feat_channels=64)
    cfg.model.roi_head.bbox_roi_extractor.out_channels = 64
    cfg.model.roi_head.bbox_head.update(in_channels=64, fc_out_channels=128)
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    cfg.model.train_cfg.rcnn.sampler.num = 64
    cfg.model.test_cfg.rpn.update(nms_pre=200, max_per_img=100)
    cfg.model.test_cfg.rcnn.update(nms_pre=100, max_per_img=50,
                                   score_thr=1e-3)

    def shrink(dataset):
        if 'datasets' in dataset:
            for part in dataset.datasets:
                shrink(part)
            return
        dataset.data_root = data_root
        for step in dataset.pipeline:
            if step['type'] == 'mmdet.Resize':
                step['scale'] = (SIZE, SIZE)

    for name in ('train_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.update(batch_size=2 if name.startswith('train') else 1,
                      num_workers=0, persistent_workers=False)
        shrink(loader.dataset)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_evaluator.nproc = 1
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0,
                                by_epoch=False)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.pop('visualization', None)
    cfg.work_dir = work_dir
    cfg.experiment_name = osp.basename(work_dir)
    return cfg


def train_and_test(cfg: Config) -> dict:
    """One training epoch (one iteration: 2 images, batch 2), then the
    test loop; returns its metrics."""
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1
    return runner.test()


def gt_as_predictions(dataset, drop_label=None):
    """Data samples whose predictions are the ground truth (plus one
    low-scored false positive per image); with ``drop_label``, the first
    object of that class is not predicted."""
    samples, dropped = [], False
    for index in range(len(dataset)):
        item = dataset[index]
        boxes = item['gt_bboxes'].tensor
        labels = torch.as_tensor(item['gt_bboxes_labels'])
        keep = torch.ones(len(labels), dtype=torch.bool)
        if drop_label is not None and not dropped and \
                (labels == drop_label).any():
            keep[int(torch.nonzero(labels == drop_label)[0])] = False
            dropped = True
        false_positive = torch.tensor([[-40., -40., 4., 4., 0.]])
        samples.append(dict(
            img_id=item['img_id'],
            gt_instances=dict(bboxes=boxes, labels=labels),
            ignored_instances=dict(bboxes=torch.zeros(0, 5),
                                   labels=torch.zeros(0, dtype=torch.long)),
            pred_instances=dict(
                bboxes=torch.cat([boxes[keep], false_positive]),
                scores=torch.cat([torch.ones(int(keep.sum())),
                                  torch.full((1, ), 0.5)]),
                labels=torch.cat([labels[keep], labels[:1]]))))
    return samples


def evaluate(metric_cfg: dict, dataset, samples) -> dict:
    from mmrotate.registry import METRICS
    metric = METRICS.build(dict(metric_cfg, nproc=1))
    metric.dataset_meta = dataset.metainfo
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def build_dataset(cfg: dict):
    from mmrotate.registry import DATASETS
    init_default_scope('mmrotate')
    return DATASETS.build(cfg)


LOAD_RBOXES = [
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
]


# ---------------------------------------------------------------------
# A user's own classes (tree crowns written as DOTA text)
# ---------------------------------------------------------------------
@pytest.fixture(scope='module')
def crowns(tmp_path_factory):
    root = tmp_path_factory.mktemp('crowns')
    raw = str(root / 'raw')
    drawn = make_dota_text_sample(raw, ('tree', ),
                                  dict(train=2, val=1, test=1),
                                  image_size=(SIZE, SIZE), seed=4)
    return dict(root=root, raw=raw, drawn=drawn)


def test_split_without_the_classes_is_a_clear_error(crowns, tmp_path):
    code, message = run_main('tools/dataset_converters/dota.py', 'split',
                             crowns['raw'], str(tmp_path / 'out'),
                             '--nproc', '1', '--splits', 'train')
    assert code == 1
    lines = sum(map(len, crowns['drawn']['train'].values()))
    assert 'no valid object of the 15 classes' in message
    assert f"'tree' ({lines} lines)" in message
    assert '--classes tree' in message
    assert 'concatenate' not in message
    assert not osp.exists(tmp_path / 'out' / 'train' / 'annfiles')


def test_class_lists_from_command_line_file_and_config(tmp_path):
    assert read_class_list(['tree']) == ('tree', )
    assert read_class_list(['tree,shrub']) == ('tree', 'shrub')
    names = tmp_path / 'classes.txt'
    names.write_text('# crowns\nconifer tree\n\nbroadleaf tree\n')
    assert read_class_list([str(names)]) == ('conifer tree',
                                             'broadleaf tree')
    with pytest.raises(ValueError, match='duplicate'):
        read_class_list(['tree', 'tree'])
    config = tmp_path / 'crowns.py'
    config.write_text(
        'train_dataloader = dict(dataset=dict(type="ConcatDataset", '
        'datasets=[dict(type="CheckedDOTADataset", '
        'metainfo=dict(classes=("tree", )))]))\n')
    assert classes_from_config(str(config)) == ('tree', )
    config.write_text('metainfo = dict(classes=["a", "b"])\n')
    assert classes_from_config(str(config)) == ('a', 'b')
    config.write_text('x = 1\n')
    assert classes_from_config(str(config)) is None


@pytest.fixture(scope='module')
def crown_patches(crowns):
    """The crowns split with the user's class list from a config."""
    config = crowns['root'] / 'crowns.py'
    base = osp.join(CONFIGS, 'lemevit_t_oriented-rcnn_dota.py')
    # what a user writes for their own classes
    config.write_text(f"""_base_ = [{base!r}]
metainfo = dict(classes=('tree', ))
patch = ({SIZE}, {SIZE})
model = dict(roi_head=dict(bbox_head=dict(num_classes=1)))
train_dataloader = dict(dataset=dict(datasets=[
    dict(type='CheckedDOTADataset', metainfo=metainfo,
         data_root='data/split_crowns/', ann_file='train/annfiles/',
         data_prefix=dict(img_path='train/images/'), img_shape=patch,
         filter_cfg=dict(filter_empty_gt=True),
         pipeline={{{{_base_.train_pipeline}}}})]))
val_dataloader = dict(dataset=dict(metainfo=metainfo, img_shape=patch))
test_dataloader = val_dataloader
""")
    out = str(crowns['root'] / 'split')
    code, message = run_main('tools/dataset_converters/dota.py', 'split',
                             crowns['raw'], out, '--size', str(SIZE),
                             '--gap', '0', '--nproc', '1', '--config',
                             str(config))
    assert code == 0, message
    return dict(crowns, split=out, config=str(config))


def test_split_keeps_every_crown_with_the_config_classes(crown_patches):
    ann_dir = osp.join(crown_patches['split'], 'train', 'annfiles')
    kept = [obj for name in sorted(os.listdir(ann_dir))
            for obj in read_annotation_file(osp.join(ann_dir, name),
                                            ('tree', ))[0]]
    drawn = sum(map(len, crown_patches['drawn']['train'].values()))
    assert len(kept) == drawn  # one patch per image: nothing cut
    assert {o.class_name for o in kept} == {'tree'}


def test_dataset_with_default_classes_names_the_fix(crown_patches):
    with pytest.raises(ValueError, match=r"'tree' \(\d+ lines\).*"
                       r"metainfo=dict\(classes=\('tree',\)\)"):
        build_dataset(dict(
            type='CheckedDOTADataset', data_root=crown_patches['split'],
            ann_file='train/annfiles/',
            data_prefix=dict(img_path='train/images/'),
            img_shape=(SIZE, SIZE), filter_cfg=dict(filter_empty_gt=True),
            pipeline=[]))


def test_crowns_train_one_iteration_and_score(crown_patches, tmp_path):
    cfg = load_config(crown_patches['config'])
    metrics = train_and_test(small_run(cfg, crown_patches['split'] + '/',
                                       str(tmp_path / 'work')))
    assert 0.0 <= metrics['dota/mAP'] <= 1.0
    assert set(metrics) <= {'dota/mAP', 'dota/AP50', 'dota/AP50_tree'}


# ---------------------------------------------------------------------
# DIOR-R
# ---------------------------------------------------------------------
@pytest.fixture(scope='module')
def dior(tmp_path_factory):
    root = tmp_path_factory.mktemp('dior')
    download = str(root / 'download')
    drawn = make_dior_sample(download, DIOR_CLASSES,
                             dict(train=2, val=1, test=2), image_size=SIZE,
                             seed=2)
    return dict(root=root, download=download, drawn=drawn)


@pytest.fixture(scope='module')
def dior_root(dior):
    out = str(dior['root'] / 'DIOR')
    code, message = run_main('tools/dataset_converters/dior.py',
                             dior['download'], out)
    assert code == 0, message
    return out


def test_dior_converter_writes_mmrotates_layout(dior, dior_root):
    drawn = dior['drawn']
    for split, ids in drawn.items():
        listed = open(osp.join(dior_root, 'ImageSets', 'Main',
                               f'{split}.txt')).read().split()
        assert listed == list(ids)
        folder = 'JPEGImages-test' if split == 'test' else \
            'JPEGImages-trainval'
        for img_id, objects in ids.items():
            assert osp.isfile(osp.join(dior_root, folder, f'{img_id}.jpg'))
            xml = osp.join(dior_root, 'Annotations',
                           'Oriented Bounding Boxes', f'{img_id}.xml')
            found, problems, size = read_dior_file(xml)
            assert not problems and size == (SIZE, SIZE)
            assert [o.class_name for o in found] == [
                o['class_name'] for o in objects]
            np.testing.assert_allclose(found[0].polygon,
                                       objects[0]['polygon'])


def test_dior_converter_names_what_is_missing(dior, tmp_path):
    import shutil
    broken = tmp_path / 'download'
    shutil.copytree(dior['download'], broken)
    (broken / 'Annotations.zip').unlink()
    code, message = run_main('tools/dataset_converters/dior.py',
                             str(broken), str(tmp_path / 'out'))
    assert code == 1
    assert 'DIOR-R oriented-box annotations' in message
    assert "'Oriented Bounding Boxes'" in message


def test_dior_dataset_skips_bad_objects_and_metric_is_exact(
        dior_root, tmp_path):
    import shutil
    root = tmp_path / 'DIOR'
    shutil.copytree(dior_root, root, symlinks=False)
    xml = root / 'Annotations' / 'Oriented Bounding Boxes' / '00004.xml'
    text = xml.read_text()
    bad = text.replace('<name>', '<name>car', 1)  # unknown class
    xml.write_text(bad)
    bad_line = bad[:bad.index('<name>car')].count('\n') - 1  # <object>
    dataset = build_dataset(dict(
        type='CheckedDIORDataset', data_root=str(root),
        ann_file='ImageSets/Main/test.txt',
        data_prefix=dict(img_path='JPEGImages-test'), test_mode=True,
        pipeline=LOAD_RBOXES))
    problems = dataset.annotation_problems
    assert [(p.file, p.line) for p in problems] == [(str(xml), bad_line)]
    assert "unknown class 'car" in problems[0].reason
    labels = torch.cat([torch.as_tensor(dataset[i]['gt_bboxes_labels'])
                        for i in range(len(dataset))])
    metric = dict(type='RotatedVOCMetric', prefix='dior')
    results = evaluate(metric, dataset, gt_as_predictions(dataset))
    assert results['dior/mAP'] == 1.0
    assert results['dior/mAP_voc07'] == results['dior/mAP_voc12'] == 1.0
    # Miss one object of the most frequent class (n objects): recall
    # (n - 1) / n at precision 1. VOC07: the 11-point average; VOC12: the
    # area, (n - 1) / n.
    label = int(labels.mode().values)
    count = int((labels == label).sum())
    name = DIOR_CLASSES[label]
    results = evaluate(metric, dataset,
                       gt_as_predictions(dataset, drop_label=label))
    voc07 = sum(t / 10 <= (count - 1) / count for t in range(11)) / 11
    assert results[f'dior/AP50_voc07_{name}'] == pytest.approx(voc07,
                                                               abs=1e-4)
    assert results[f'dior/AP50_voc12_{name}'] == pytest.approx(
        (count - 1) / count, abs=1e-4)
    present = len(set(labels.tolist()))
    assert results['dior/mAP'] == pytest.approx(
        (present - 1 + voc07) / present, abs=1e-4)


def test_dior_trains_one_iteration_and_scores(dior_root, tmp_path):
    cfg = load_config(osp.join(CONFIGS,
                                   'lemevit_t_oriented-rcnn_dior.py'))
    # the train list alone: 2 images, one iteration
    cfg.train_dataloader.dataset.datasets = \
        cfg.train_dataloader.dataset.datasets[:1]
    metrics = train_and_test(small_run(cfg, dior_root + '/',
                                       str(tmp_path / 'work')))
    for key in ('dior/mAP', 'dior/mAP_voc07', 'dior/mAP_voc12'):
        assert 0.0 <= metrics[key] <= 1.0


# ---------------------------------------------------------------------
# HRSC2016
# ---------------------------------------------------------------------
@pytest.fixture(scope='module')
def hrsc(tmp_path_factory):
    root = tmp_path_factory.mktemp('hrsc')
    download = str(root / 'download')
    drawn = make_hrsc_sample(download, dict(train=1, val=1, test=2),
                             image_size=(112, 144), seed=3)
    out = str(root / 'hrsc')
    code, message = run_main('tools/dataset_converters/hrsc.py', download,
                             out)
    assert code == 0, message
    return dict(root=root, drawn=drawn, out=out)


def test_hrsc_reader_reads_rotated_boxes_and_true_height(hrsc):
    img_id, ships = next(iter(hrsc['drawn']['trainval'].items()))
    found, problems, size = read_hrsc_file(osp.join(
        hrsc['out'], 'FullDataSet', 'Annotations', f'{img_id}.xml'))
    assert not problems and size == (112, 144)
    assert len(found) == len(ships)
    for obj, ship in zip(found, ships):
        corners = np.array(obj.polygon).reshape(4, 2)
        np.testing.assert_allclose(corners.mean(0), ship['rbox'][:2],
                                   atol=1e-3)
        # the same rectangle as drawn (corner order aside)
        drawn = np.array(ship['polygon']).reshape(4, 2)
        distances = np.linalg.norm(corners[:, None] - drawn[None], axis=-1)
        assert (distances.min(axis=1) < 0.2).all()
    # mmrotate's rbox2qbox order: centre + half width + half height first
    np.testing.assert_allclose(rbox_to_polygon(10, 20, 8, 4, 0),
                               [14, 22, 14, 18, 6, 18, 6, 22])


def test_hrsc_trains_one_iteration_and_scores_voc07_voc12(hrsc, tmp_path):
    cfg = load_config(osp.join(CONFIGS,
                                   'lemevit_t_oriented-rcnn_hrsc.py'))
    assert cfg.train_cfg.max_epochs == 36
    assert cfg.model.roi_head.bbox_head.num_classes == 1
    metrics = train_and_test(small_run(cfg, hrsc['out'] + '/',
                                       str(tmp_path / 'work')))
    assert set(metrics) >= {'hrsc/mAP', 'hrsc/mAP_voc07', 'hrsc/mAP_voc12'}
    dataset = build_dataset(dict(
        type='CheckedHRSCDataset', data_root=hrsc['out'],
        ann_file='ImageSets/test.txt',
        data_prefix=dict(sub_data_root='FullDataSet/'), test_mode=True,
        pipeline=LOAD_RBOXES))
    assert dataset.metainfo['classes'] == ('ship', )
    assert dataset.get_data_info(0)['height'] == 112
    results = evaluate(dict(type='RotatedVOCMetric', prefix='hrsc'),
                       dataset, gt_as_predictions(dataset))
    assert results['hrsc/mAP_voc07'] == results['hrsc/mAP_voc12'] == 1.0


# ---------------------------------------------------------------------
# Configs of every detection benchmark
# ---------------------------------------------------------------------
DATASET_CONFIGS = {
    'dior': ('CheckedDIORDataset', 20, 'RotatedVOCMetric'),
    'hrsc': ('CheckedHRSCDataset', 1, 'RotatedVOCMetric'),
}


@pytest.mark.parametrize('variant', ['t', 's', 'b'])
@pytest.mark.parametrize('dataset', sorted(DATASET_CONFIGS))
def test_config_keeps_the_dota_detector(variant, dataset):
    dataset_type, num_classes, metric = DATASET_CONFIGS[dataset]
    cfg = load_config(osp.join(
        CONFIGS, f'lemevit_{variant}_oriented-rcnn_{dataset}.py'))
    dota = load_config(osp.join(
        CONFIGS, f'lemevit_{variant}_oriented-rcnn_dota.py'))
    def unscoped(node):  # `_scope_` marks dicts read from mmrotate's files
        if isinstance(node, dict):
            return {k: unscoped(v) for k, v in node.items()
                    if k != '_scope_'}
        if isinstance(node, (list, tuple)):
            return type(node)(unscoped(v) for v in node)
        return node

    model = unscoped(cfg.model.to_dict())
    reference = unscoped(dota.model.to_dict())
    assert model['roi_head']['bbox_head'].pop('num_classes') == num_classes
    reference['roi_head']['bbox_head'].pop('num_classes')
    assert model == reference
    assert cfg.optim_wrapper.optimizer == dota.optim_wrapper.optimizer
    loader = cfg.test_dataloader.dataset
    assert loader.type == dataset_type
    assert len(loader.metainfo['classes']) == num_classes
    assert cfg.test_evaluator.type == metric
    assert cfg.test_evaluator.ap_rules == ('voc07', 'voc12')


def test_dota_v15_v2_class_lists_extend_v1():
    assert len(DOTA_V15_CLASSES) == 16 and len(DOTA_V2_CLASSES) == 18
    assert DOTA_V2_CLASSES[-3:] == ('container-crane', 'airport', 'helipad')
    # a config without metainfo: its dataset type's classes (--config)
    cfg = load_config(osp.join(CONFIGS, 'lemevit_t_oriented-rcnn_dotav2.py'))
    assert classes_from_config(cfg) == DOTA_V2_CLASSES


# ---------------------------------------------------------------------
# DOTA-v1.5 / v2.0, multi-scale DOTA-v1.0, FAIR1M-2.0
# ---------------------------------------------------------------------
SPLIT_CONFIGS = {
    'dotav15': ('CheckedDOTAv15Dataset', 16, 'data/split_ss_dota1_5/'),
    'dotav2': ('CheckedDOTAv2Dataset', 18, 'data/split_ss_dota2_0/'),
    'dota-ms': ('CheckedDOTADataset', 15, 'data/split_ms_dota/'),
    'fair1m': ('CheckedFAIR1MDataset', 37, 'data/split_ss_fair1m/'),
}


@pytest.mark.parametrize('name', sorted(SPLIT_CONFIGS))
def test_dota_style_configs(name):
    dataset_type, num_classes, root = SPLIT_CONFIGS[name]
    from mmrotate.registry import DATASETS
    init_default_scope('mmrotate')
    for variant in ('t', 's', 'b'):
        cfg = load_config(osp.join(
            CONFIGS, f'lemevit_{variant}_oriented-rcnn_{name}.py'))
        assert cfg.model.roi_head.bbox_head.num_classes == num_classes
        sets = cfg.train_dataloader.dataset.datasets
        assert [d.ann_file for d in sets] == ['train/annfiles/',
                                              'val/annfiles/']
        for dataset in [*sets, cfg.test_dataloader.dataset]:
            assert dataset.type == dataset_type and dataset.data_root == root
        assert len(DATASETS.get(dataset_type).METAINFO['classes']) == \
            num_classes
        suffix = 'submission' if name == 'fair1m' else 'task1'
        submit = load_config(osp.join(
            CONFIGS, f'lemevit_{variant}_oriented-rcnn_{name}_{suffix}.py'))
        assert submit.test_dataloader.dataset.ann_file == ''
        if name == 'fair1m':
            assert submit.test_evaluator.type == 'FAIR1MSubmissionMetric'
        else:
            assert submit.test_evaluator.merge_patches is True
    if name == 'dota-ms':
        assert sets[0].img_shape is None
        assert any(step.type == 'RandomRotate' for step in sets[0].pipeline)


def test_multi_scale_split_names_and_shapes(crowns, tmp_path):
    out = str(tmp_path / 'ms')
    code, message = run_main('tools/dataset_converters/dota.py', 'split',
                             crowns['raw'], out, '--splits', 'train',
                             '--size', '64', '--gap', '16', '--rates', '0.5',
                             '1.0', '--nproc', '1', '--classes', 'tree')
    assert code == 0, message
    names = sorted(os.listdir(osp.join(out, 'train', 'images')))
    sizes = {name.split('__')[1] for name in names}
    assert sizes == {'128', '64'}  # 64 / 0.5 and 64 / 1.0
    dataset = build_dataset(dict(
        type='CheckedDOTADataset', data_root=out, metainfo=dict(
            classes=('tree', )), ann_file='train/annfiles/',
        data_prefix=dict(img_path='train/images/'), img_shape=None,
        test_mode=True, pipeline=[]))
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        size = int(info['img_id'].split('__')[1])
        assert (info['height'], info['width']) == (size, size)


@pytest.fixture(scope='module')
def fair1m(tmp_path_factory):
    from lemevit_mm.det.class_lists import FAIR1M_CLASSES
    from lemevit_mm.testing.samples_det import make_fair1m_sample
    root = tmp_path_factory.mktemp('fair1m')
    drawn = make_fair1m_sample(str(root / 'download'), FAIR1M_CLASSES,
                               dict(train=2, validation=1, test=1),
                               image_size=SIZE, seed=5)
    code, message = run_main('tools/dataset_converters/fair1m.py',
                             str(root / 'download'), str(root / 'FAIR1M'))
    assert code == 0, message
    code, message = run_main('tools/dataset_converters/dota.py', 'split',
                             str(root / 'FAIR1M'), str(root / 'split'),
                             '--size', str(SIZE), '--gap', '0', '--nproc',
                             '1', '--dataset', 'fair1m')
    assert code == 0, message
    return dict(root=root, drawn=drawn, split=str(root / 'split'))


def test_fair1m_xml_to_dota_text_to_patches_scores_exactly(fair1m):
    img_id, objects = next(iter(fair1m['drawn']['train'].items()))
    text = (fair1m['root'] / 'FAIR1M' / 'train' / 'labelTxt' /
            f'{img_id}.txt').read_text().splitlines()
    assert [line.split()[8] for line in text] == [
        o['class_name'].replace(' ', '_') for o in objects]
    dataset = build_dataset(dict(
        type='CheckedFAIR1MDataset', data_root=fair1m['split'],
        ann_file='train/annfiles/', data_prefix=dict(img_path='train/'
                                                     'images/'),
        img_shape=(SIZE, SIZE), test_mode=True, pipeline=LOAD_RBOXES))
    assert len(dataset.metainfo['classes']) == 37
    assert not dataset.annotation_problems
    results = evaluate(dict(type='DOTAClassAPMetric'), dataset,
                       gt_as_predictions(dataset))
    assert results['dota/mAP'] == 1.0


def test_fair1m_submission_is_one_xml_per_image(fair1m, tmp_path):
    from mmrotate.registry import METRICS
    from lemevit_mm.det.class_lists import FAIR1M_TEXT_CLASSES
    from lemevit_mm.det.xml_annotations import read_fair1m_file
    prefix = str(tmp_path / 'submission' / 'test')
    metric = METRICS.build(dict(type='FAIR1MSubmissionMetric', nproc=1,
                                outfile_prefix=prefix))
    metric.dataset_meta = dict(classes=FAIR1M_TEXT_CLASSES)
    label = FAIR1M_TEXT_CLASSES.index('Passenger_Ship')
    patch = lambda name, boxes, labels: dict(  # noqa: E731
        img_id=name,
        gt_instances=dict(bboxes=torch.zeros(0, 5),
                          labels=torch.zeros(0, dtype=torch.long)),
        ignored_instances=dict(bboxes=torch.zeros(0, 5),
                               labels=torch.zeros(0, dtype=torch.long)),
        pred_instances=dict(bboxes=boxes, labels=labels,
                            scores=torch.full((len(labels), ), 0.9)))
    # one ship in the patch at (64, 0) of image 7; image 8 has nothing
    metric.process({}, [
        patch('7__64__64___0', torch.tensor([[20., 30., 16., 8., 0.]]),
              torch.tensor([label])),
        patch('8__64__0___0', torch.zeros(0, 5),
              torch.zeros(0, dtype=torch.long))])
    metric.evaluate(2)
    assert sorted(os.listdir(prefix)) == ['7.xml', '8.xml', 'test.zip']
    found, problems, _ = read_fair1m_file(osp.join(prefix, '7.xml'))
    assert not problems and [o.class_name for o in found] == [
        'Passenger Ship']
    xs, ys = found[0].polygon[0::2], found[0].polygon[1::2]
    assert (min(xs), max(xs), min(ys), max(ys)) == pytest.approx(
        (76, 92, 26, 34), abs=0.01)
    assert '<probability>0.9' in open(osp.join(prefix, '7.xml')).read()
    assert read_fair1m_file(osp.join(prefix, '8.xml'))[0] == []
