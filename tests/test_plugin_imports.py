"""``import lemevit_mm`` with task packages hidden: the backbone loads, the
task parts whose packages import load, the others leave placeholders
that name the package to install; with every package present, no
placeholder is left."""
import json
import os.path as osp
import subprocess
import sys
from typing import Sequence

import pytest
from mmengine.registry import Registry

import lemevit_mm
from lemevit_mm.utils import task_parts

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ALL_TASK_PACKAGES = ('mmdet', 'mmrotate', 'mmseg', 'mmpretrain', 'mmcv.ops',
                     'mmcv._ext')
# Put before the code of a subprocess: ``hidden`` modules (and with them
# their submodules) are absent, as in an environment without them (a None
# in sys.modules: importing raises ModuleNotFoundError, find_spec says
# None).
HIDE = '''
import sys

sys.modules.update(dict.fromkeys({hidden!r}))
'''
# What the subprocess reports: the skipped parts, the backbone's output,
# the errors of building classes of skipped parts, where real classes of
# active parts come from, and whether a hidden module was loaded anyway.
PROBE = '''
import json
import warnings

warnings.simplefilter('ignore')
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, HOOKS, MODELS
from mmengine.utils import import_modules_from_strings

cfg = Config(dict(
    custom_imports=dict(imports=['lemevit_mm'],
                        allow_failed_imports=False),
    model=dict(_scope_='mmseg', type='SiameseEncoderDecoder',
               backbone=dict(type='LeMeViT'))))
import_modules_from_strings(**cfg.custom_imports)
import lemevit_mm

backbone = MODELS.build(dict(type='LeMeViT', arch='tiny', out_indices=(4, ),
                             out_meta_tokens=True)).eval()
neck = MODELS.build(dict(type='LeMeViTPooling', in_channels=320))
with torch.no_grad():
    pooled, = neck(backbone(torch.randn(2, 3, 64, 64)))
errors = {}
for name, registry, build_cfg in (
        ('model', MODELS, cfg.model),
        ('dataset', DATASETS, dict(_scope_='mmrotate',
                                   type='CheckedDOTADataset')),
        ('classifier', MODELS, dict(_scope_='mmpretrain',
                                    type='LeMeViTClassifier')),
        ('hook', HOOKS, dict(_scope_='mmpretrain', type='LeMeViTEMAHook'))):
    try:
        registry.build(build_cfg)
    except Exception as error:
        errors[name] = [type(error).__name__, str(error),
                        isinstance(error, ImportError)]
origins = {}
if 'cls' not in lemevit_mm.skipped_task_parts():
    origins['LeMeViTClassifier'] = MODELS.get('LeMeViTClassifier').__module__
if 'seg' not in lemevit_mm.skipped_task_parts():
    from mmseg.registry import DATASETS as SEG_DATASETS
    origins['CheckedPotsdamDataset'] = SEG_DATASETS.get(
        'CheckedPotsdamDataset').__module__
print(json.dumps(dict(
    skipped=lemevit_mm.skipped_task_parts(),
    pooled=list(pooled.shape), errors=errors, origins=origins,
    hidden_loaded=sorted(
        name for name, module in sys.modules.items()
        if module is not None and (
            name.split('.')[0] in ('mmdet', 'mmrotate', 'mmseg',
                                   'mmpretrain') or
            name.startswith(('mmcv.ops', 'mmcv._ext')))))))
'''


def run_hidden(hidden: Sequence[str]) -> dict:
    """Run :data:`PROBE` in a fresh interpreter with ``hidden`` modules
    missing; return its report."""
    result = subprocess.run(
        [sys.executable, '-c', HIDE.format(hidden=tuple(hidden)) + PROBE],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_backbone_without_task_packages_or_mmcv_ops():
    report = run_hidden(ALL_TASK_PACKAGES)
    assert sorted(report['skipped']) == ['cd', 'cls', 'det', 'seg']
    assert report['hidden_loaded'] == []
    # the backbone and the classifier neck build and run
    assert report['pooled'] == [2, 320]
    # a config (through custom_imports) and a dict that need a skipped
    # part: an ImportError naming what to install
    kind, message, is_import_error = report['errors']['model']
    assert kind == 'MissingTaskPackageError' and is_import_error
    assert message.startswith('SiameseEncoderDecoder (lemevit_mm.cd) needs '
                              'mmseg, which is not installed: pip install '
                              'mmsegmentation;')
    _, message, _ = report['errors']['dataset']
    assert message.startswith('CheckedDOTADataset (lemevit_mm.det) needs ')
    assert 'pip install mmdet mmrotate, with mmcv built with its ' \
        'compiled ops' in message
    assert 'onedl-mmrotate' in message
    for name in ('classifier', 'hook'):
        assert 'needs mmpretrain, which is not installed: pip install ' \
            'mmpretrain;' in report['errors'][name][1]


def test_only_mmrotate_missing():
    report = run_hidden(['mmrotate'])
    assert list(report['skipped']) == ['det']
    assert report['pooled'] == [2, 320]
    # cls, seg and cd are active: their real classes are built
    assert report['origins'] == {
        'LeMeViTClassifier': 'lemevit_mm.cls.classifier',
        'CheckedPotsdamDataset': 'lemevit_mm.seg.potsdam_dataset'
    }
    assert report['errors']['dataset'][1].startswith(
        'CheckedDOTADataset (lemevit_mm.det) needs mmrotate, which is not '
        'installed: pip install mmdet mmrotate')
    # the real classes are built (and want their arguments)
    assert report['errors']['model'][0] == 'TypeError'
    assert report['errors']['classifier'][0] == 'TypeError'
    assert 'hook' not in report['errors']


def all_registries(root: Registry):
    yield root
    for child in root.children.values():
        yield from all_registries(child)


@pytest.mark.parametrize('part', [part.name for part in task_parts.TASK_PARTS])
def test_every_package_present_registers_the_real_classes(part):
    import mmengine.registry
    assert lemevit_mm.skipped_task_parts() == {}
    names = task_parts.registered_names(part)
    assert names  # the source scan finds the part's classes
    for registry_name, name in names:
        root = getattr(mmengine.registry, registry_name)
        found = [registry.module_dict[name]
                 for registry in all_registries(root)
                 if name in registry.module_dict]
        assert found, f'{name} is registered nowhere'
        for cls in found:
            assert not getattr(cls, 'lemevit_placeholder', False)
            assert cls.__module__.startswith(f'lemevit_mm.{part}.')
    # and the scan misses none of the classes the part registers
    registered = {(root_name, name)
                  for root_name in ('MODELS', 'DATASETS', 'METRICS',
                                    'TRANSFORMS', 'VISUALIZERS', 'HOOKS')
                  for registry in all_registries(
                      getattr(mmengine.registry, root_name))
                  for name, cls in registry.module_dict.items()
                  if cls.__module__.startswith(f'lemevit_mm.{part}.')}
    assert registered == set(names)


def test_an_error_of_lemevit_mm_itself_is_not_skipped():
    part = task_parts.TaskPart('cd', ('mmseg', ))
    missing = ModuleNotFoundError("No module named 'mmseg'", name='mmseg')
    assert task_parts._culprit(part, missing) == 'mmseg'
    own = ImportError("cannot import name 'X' from 'lemevit_mm.cd.datasets'",
                      name='lemevit_mm.cd.datasets')
    assert task_parts._culprit(part, own) is None
    try:
        raise NameError('a typo in lemevit_mm')
    except NameError as error:
        assert task_parts._culprit(part, error) is None
