"""Classification: the authors' checkpoint through the converter, directly
and through tools/test.py; the data preparation. (Parameter counts are
checked in test_tools_configs.py.)"""
import os.path as osp
import pickle
import runpy
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

import lemevit_mm  # noqa: F401
from lemevit_mm.models.official_checkpoint import CONVERTER
from lemevit_mm.testing.cls import make_tiny_imagenet

from helpers import REPO, build_model, load_tool

CLS_CONFIGS = osp.join(REPO, 'configs', 'cls')


def build_classifier(config: str, **options) -> torch.nn.Module:
    cfg = Config.fromfile(osp.join(CLS_CONFIGS, config))
    cfg.merge_from_dict(options)
    return build_model(cfg)


@pytest.fixture(scope='module')
def converter():
    """The converter's library (the command line is a thin wrapper)."""
    from lemevit_mm.models import official_checkpoint
    return official_checkpoint


@pytest.fixture(scope='module')
def tiny_classifier():
    return build_classifier('lemevit_t_in1k.py').eval()


def assert_logits_match(model, reference_io) -> None:
    """The model's logits of the reference input equal the authors'."""
    with torch.no_grad():
        logits = model(reference_io['cls_input'], mode='tensor')
    assert logits.shape == (2, 1000)
    error = (logits - reference_io['cls_logits']).abs().max().item()
    assert error < reference_io['cls_tol'], reference_io['source']


@pytest.mark.trained_weights
def test_converted_checkpoint_reproduces_logits(
        converter, tiny_classifier, official_tiny, reference_io, tmp_path):
    dst = str(tmp_path / 'lemevit_t_in1k.pth')
    meta = converter.convert_checkpoint(official_tiny, dst)
    assert meta['arch'] == 'tiny' and meta['num_classes'] == 1000
    saved = torch.load(dst, weights_only=True)
    assert set(saved) == {'state_dict', 'meta'}
    assert {'neck.norm_x.weight', 'neck.norm_meta.bias',
            'head.fc.weight'} <= set(saved['state_dict'])
    load_checkpoint(tiny_classifier, dst, strict=True)
    assert_logits_match(tiny_classifier, reference_io)
    # The same file is a backbone init_cfg for the dense tasks.
    from lemevit_mm.models import LeMeViT
    backbone = LeMeViT('tiny', init_cfg=dict(
        type='Pretrained', checkpoint=dst, prefix='backbone.'))
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, saved['state_dict']['backbone.' + key])


@pytest.mark.trained_weights
def test_unconverted_official_file_loads_the_same(
        tiny_classifier, official_tiny, reference_io, tmp_path):
    torch.nn.init.zeros_(tiny_classifier.head.fc.weight)
    load_checkpoint(tiny_classifier, official_tiny, strict=True)
    assert_logits_match(tiny_classifier, reference_io)
    # A DDP-prefixed flat file too.
    state = torch.load(official_tiny, weights_only=True)
    ddp = str(tmp_path / 'ddp.pth')
    torch.save({f'module.{k}': v for k, v in state.items()}, ddp)
    torch.nn.init.zeros_(tiny_classifier.head.fc.weight)
    load_checkpoint(tiny_classifier, ddp, strict=True)
    assert_logits_match(tiny_classifier, reference_io)


def test_wrapped_official_file(converter, tiny_classifier, official_tiny,
                               reference_io, tmp_path):
    state = torch.load(official_tiny, weights_only=True)
    noisy = {k: v + 1 if v.is_floating_point() else v
             for k, v in state.items()}
    wrapped = str(tmp_path / 'timm.pth')
    torch.save(dict(model=noisy, state_dict_ema=state, epoch=3), wrapped)
    # Loading it directly cannot pick the EMA copy: it names the converter.
    with pytest.raises(ValueError, match='lemevit_official.py'):
        load_checkpoint(tiny_classifier, wrapped, strict=False)
    dst = str(tmp_path / 'converted.pth')
    assert converter.convert_checkpoint(wrapped, dst)['source_weights'] == \
        'state_dict_ema'
    load_checkpoint(tiny_classifier, dst, strict=True)
    assert_logits_match(tiny_classifier, reference_io)


def test_ema_hook_reads_official_state_dicts(tiny_classifier, official_tiny,
                                             reference_io):
    from mmengine.model import ExponentialMovingAverage

    from lemevit_mm.cls import LeMeViTEMAHook
    state = torch.load(official_tiny, weights_only=True)
    hook = LeMeViTEMAHook(momentum=0.004)
    with pytest.raises(ValueError, match='state_dict_ema.*lemevit_official'):
        hook.after_load_checkpoint(
            None, dict(state_dict=state, state_dict_ema=state))
    torch.nn.init.zeros_(tiny_classifier.head.fc.weight)
    hook.ema_model = ExponentialMovingAverage(tiny_classifier)
    hook.after_load_checkpoint(None, dict(state))  # a bare state dict
    assert_logits_match(hook.ema_model.module.eval(), reference_io)


def test_converter_refuses_other_files(converter, official_tiny, tmp_path,
                                       capsys, monkeypatch):
    state = torch.load(official_tiny, weights_only=True)
    cases = {
        'resnet.pth': ({'conv1.weight': torch.zeros(64, 3, 7, 7),
                        'fc.weight': torch.zeros(10, 64)},
                       'not an authors\' LeMeViT checkpoint'),
        'no_stage4.pth': ({k: v for k, v in state.items()
                           if not k.startswith(('stages.4.',
                                                'meta_token_downsample.4'))},
                          'stage 4 is missing'),
        'no_stem.pth': ({k: v for k, v in state.items()
                         if not k.startswith('downsample_layers.0.')},
                        r'not a complete LeMeViT \(tiny\).*missing'),
        'io.pth': (['not', 'a', 'dict'], 'not a checkpoint'),
    }
    for name, (content, message) in cases.items():
        torch.save(content, str(tmp_path / name))
        with pytest.raises(converter.NotOfficialError, match=message):
            converter.convert_checkpoint(str(tmp_path / name),
                                         str(tmp_path / 'x.pth'))
    converted = str(tmp_path / 'converted.pth')
    converter.convert_checkpoint(official_tiny, converted)
    with pytest.raises(converter.NotOfficialError,
                       match='already converted'):
        converter.convert_checkpoint(converted, str(tmp_path / 'x.pth'))
    assert not osp.exists(tmp_path / 'x.pth')
    # The command line exits with the message, no stack trace.
    monkeypatch.setattr(sys, 'argv', [CONVERTER, str(tmp_path / 'resnet.pth'),
                                      str(tmp_path / 'x.pth')])
    with pytest.raises(SystemExit, match='^error: .*resnet.pth is not an'):
        runpy.run_path(osp.join(REPO, CONVERTER), run_name='__main__')


def test_tools_test_with_official_and_converted_files(
        converter, official_tiny, tmp_path, monkeypatch, capfd):
    root = str(tmp_path / 'data')
    make_tiny_imagenet(root, num_classes=3, per_class=dict(val=2), size=40)
    converted = str(tmp_path / 'converted.pth')
    converter.convert_checkpoint(official_tiny, converted)
    scores = {}
    for name, checkpoint in (('official', official_tiny),
                             ('converted', converted)):
        out = str(tmp_path / f'{name}.pkl')
        monkeypatch.setattr(sys, 'argv', [
            'tools/test.py', osp.join(CLS_CONFIGS, 'lemevit_t_in1k.py'),
            checkpoint, '--work-dir', str(tmp_path / name), '--out', out,
            '--cfg-options', f'data_root={root}',
            'test_dataloader.num_workers=0', 'test_dataloader.batch_size=2',
            'test_dataloader.dataset.pipeline.1.scale=36',
            'test_dataloader.dataset.pipeline.2.crop_size=32'])
        runpy.run_path(osp.join(REPO, 'tools', 'test.py'),
                       run_name='__main__')
        log = capfd.readouterr()
        assert 'do not match exactly' not in log.out + log.err
        assert 'accuracy/top1' in log.out + log.err
        with open(out, 'rb') as file:
            scores[name] = torch.stack(
                [p['pred_score'] for p in pickle.load(file)])
    assert scores['official'].shape == (6, 1000)
    assert torch.equal(scores['official'], scores['converted'])


def test_millionaid_preparation(tmp_path):
    source = tmp_path / 'MillionAID' / 'train'
    leaves = {'agriculture_land/arable_land/dry_field': 5,
              'agriculture_land/arable_land/paddy_field': 4,
              'water_area/lake': 6}
    for leaf, count in leaves.items():
        folder = source / leaf
        folder.mkdir(parents=True)
        for i in range(count):
            (folder / f'P{i:04d}.jpg').write_bytes(b'jpeg')
    out = tmp_path / 'millionaid'
    tool = osp.join(REPO, 'tools', 'dataset_converters', 'millionaid.py')
    module = load_tool('tools/dataset_converters/millionaid.py')
    module.main([str(source), str(out), '--val-ratio', '0.25',
                 '--num-classes', '3'])
    classes = (out / 'meta' / 'classes.txt').read_text().split()
    assert classes == ['dry_field', 'lake', 'paddy_field']
    train = (out / 'meta' / 'train.txt').read_text().splitlines()
    val = (out / 'meta' / 'val.txt').read_text().splitlines()
    assert len(train) + len(val) == 15 and len(val) == 4  # 1 + 2 + 1
    assert 'lake/P0000.jpg 1' in train + val
    for line in val:
        name, label = line.split()
        assert (out / 'val' / name).is_symlink()
        assert classes[int(label)] == name.split('/')[0]
    # The config reads both layouts.
    cfg = Config.fromfile(osp.join(CLS_CONFIGS, 'lemevit_t_millionaid.py'))
    from mmpretrain.datasets import CustomDataset
    for ann_file in ('meta/train.txt', ''):
        dataset = CustomDataset(data_root=str(out), data_prefix='train',
                                ann_file=ann_file, lazy_init=False)
        assert len(dataset) == len(train)
    assert cfg.train_dataloader.dataset.ann_file == 'meta/train.txt'
    # Bad input: wrong class count names what was found.
    with pytest.raises(SystemExit, match='found 3 classes.*expected 51'):
        module.main([str(source), str(tmp_path / 'other')])
    assert osp.isfile(tool)


@pytest.mark.parametrize('config,variable', [
    ('lemevit_s_in1k.py', 'LEMEVIT_IMAGENET_ROOT'),
    ('lemevit_b_millionaid.py', 'LEMEVIT_MILLIONAID_ROOT'),
])
def test_data_root_from_environment(config, variable, monkeypatch):
    default = Config.fromfile(osp.join(CLS_CONFIGS, config))
    assert default.data_root.startswith('data/')
    monkeypatch.setenv(variable, '/datasets/elsewhere')
    cfg = Config.fromfile(osp.join(CLS_CONFIGS, config))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[name].dataset.data_root == '/datasets/elsewhere'


def test_tiny_dataset_layouts(tmp_path):
    classes = make_tiny_imagenet(str(tmp_path), num_classes=3,
                                 per_class=dict(train=2, val=1), size=32)
    from mmpretrain.datasets import CustomDataset, ImageNet
    from PIL import Image
    with_lists = ImageNet(data_root=str(tmp_path), split='val')
    assert [d['gt_label'] for d in with_lists.load_data_list()] == [0, 1, 2]
    # Folder per class (mmpretrain's ImageNet wants all 1000 folders then).
    folders = CustomDataset(data_root=str(tmp_path), data_prefix='train')
    assert folders.CLASSES == tuple(classes) and len(folders) == 6
    assert sorted(d['gt_label'] for d in folders.load_data_list()) == \
        [0, 0, 1, 1, 2, 2]
    image = Image.open(tmp_path / 'train' / classes[1] /
                       f'{classes[1]}_0.JPEG')
    assert image.format == 'JPEG' and image.size == (32, 32)


def test_official_layout_is_known_in_one_place():
    """The authors' names convert the same with or without a DDP prefix,
    for the classifier and the backbone alone; old import paths still
    give the same functions."""
    from lemevit_mm.cls import official as old_home
    from lemevit_mm.models import official_checkpoint as layout
    from lemevit_mm.models.backbones import lemevit as backbone_module
    state = {'downsample_layers.0.0.weight': torch.zeros(1),
             'downsample_layers.2.1.bias': torch.zeros(2),
             'meta_token_downsample.3.4.weight': torch.zeros(3),
             'stages.4.1.attn.qkv1.weight': torch.zeros(4),
             'stages.1.0.pos_embed.weight': torch.zeros(5),
             'stages.3.2.mlp.3.bias': torch.zeros(6),
             'norm.running_var': torch.zeros(7),
             'norm_c.weight': torch.zeros(8),
             'head.bias': torch.zeros(9)}
    expected = {'backbone.stem.0.weight',
                'backbone.stages.2.downsample.1.bias',
                'backbone.stages.3.meta_proj.4.weight',
                'backbone.stages.4.blocks.1.attn.qkv_x.weight',
                'backbone.stages.1.blocks.0.cpe.weight',
                'backbone.stages.3.blocks.2.mlp.fc2.bias',
                'neck.norm_x.running_var', 'neck.norm_meta.weight',
                'head.fc.bias'}
    ddp = {f'module.{key}': value for key, value in state.items()}
    for weights in (state, ddp):
        assert layout.looks_official(weights)
        assert set(layout.convert_official_classifier(weights)) == expected
        assert set(layout.convert_official_backbone(weights)) == {
            key[len('backbone.'):] for key in expected
            if key.startswith('backbone.')}
    assert not layout.looks_official({'backbone.stem.0.weight': 0})
    assert layout.nested_official({'epoch': 1, 'state_dict_ema': ddp}) == \
        'state_dict_ema'
    assert old_home.convert_official_classifier is \
        layout.convert_official_classifier
    assert backbone_module.convert_official_key is layout.convert_official_key


def test_converter_names_a_truncated_file(tmp_path):
    from lemevit_mm.models.official_checkpoint import (NotOfficialError,
                                                       convert_checkpoint)
    path = tmp_path / 'lemevit_tiny.pth'
    torch.save({'model': {'stages.0.0.attn.q.weight': torch.zeros(64, 64)}},
               path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(NotOfficialError,
                       match=f'{path}: not a readable PyTorch checkpoint'):
        convert_checkpoint(str(path), str(tmp_path / 'out.pth'))
    assert not (tmp_path / 'out.pth').exists()
