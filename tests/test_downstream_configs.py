"""The plugin in other programs: a user's config (written outside this
repository) with ``mmseg::`` bases and ``custom_imports`` trains and tests
with mmsegmentation's own ``tools/train.py`` and ``tools/test.py``, on
either OpenMMLab stack; this repository's configs read in a program that
never imports lemevit_mm; the start-up hook is installed, cheap and can be
turned off.

On the OneDL stack MMEngine maps the scope ``mmseg`` to the distribution
``mmsegmentation``, which is absent there, and ``custom_imports`` run
only after the bases are read: without the start-up hook (or the first
base of this repository's configs) such a config does not read at all.
"""
import ast
import glob
import importlib.metadata as metadata
import importlib.util
import json
import os
import os.path as osp
import site
import subprocess
import sys
import sysconfig
import textwrap
from typing import Dict, Optional

import pytest

from helpers import REPO
from lemevit_mm.testing.seg import make_potsdam_sample

HOOK = 'LEMEVIT_SCOPE_HOOK'
PTH = 'lemevit_mm_startup.pth'
IMPORT_BASE = osp.join('configs', '_base_', 'import_lemevit_mm.py')


def _distribution(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


# The 2023 OpenMMLab stack installs mmseg as `mmsegmentation`: MMEngine's
# own table is right there, and nothing needs mending.
ORIGINAL_NAMES = _distribution('mmsegmentation')
MMSEG_DIST = 'mmsegmentation' if ORIGINAL_NAMES else 'onedl-mmsegmentation'


def mmseg_script(name: str) -> str:
    """mmsegmentation's own ``tools/<name>.py`` as its package installs it
    (OneDL: ``mmseg/tools``; the 2023 wheels: ``mmseg/.mim/tools``)."""
    package = osp.dirname(importlib.util.find_spec('mmseg').origin)
    for folder in ('tools', osp.join('.mim', 'tools')):
        path = osp.join(package, folder, f'{name}.py')
        if osp.isfile(path):
            return path
    pytest.fail(f'mmsegmentation ships no tools/{name}.py in {package}')


def run(args, cwd: str, hook: bool = True, timeout: int = 600,
        python_args=()) -> subprocess.CompletedProcess:
    """Run this interpreter in ``cwd`` (outside the repository), with the
    start-up hook on or off."""
    env = dict(os.environ)
    env.pop(HOOK, None)
    if not hook:
        env[HOOK] = '0'
    return subprocess.run([sys.executable, *python_args, *args], cwd=cwd,
                          env=env, capture_output=True, text=True,
                          timeout=timeout)


def user_config(path: str, data_root: str) -> str:
    """A user's LeMeViT-tiny UperNet on mmseg's own Potsdam configs,
    shrunk to a few seconds of CPU time."""
    with open(path, 'w') as file:
        file.write(textwrap.dedent(f'''\
            _base_ = [
                'mmseg::_base_/models/upernet_r50.py',
                'mmseg::_base_/datasets/potsdam.py',
                'mmseg::_base_/default_runtime.py',
                'mmseg::_base_/schedules/schedule_80k.py',
            ]
            custom_imports = dict(imports=['lemevit_mm'],
                                  allow_failed_imports=False)
            crop_size = (64, 64)
            norm_cfg = dict(type='BN', requires_grad=True)
            model = dict(
                pretrained=None,  # the ResNet checkpoint of the base
                data_preprocessor=dict(size=crop_size),
                backbone=dict(_delete_=True, type='LeMeViT', arch='tiny',
                              out_indices=(1, 2, 3, 4)),
                decode_head=dict(in_channels=[64, 128, 192, 320],
                                 channels=32, norm_cfg=norm_cfg),
                auxiliary_head=dict(in_channels=192, channels=16,
                                    norm_cfg=norm_cfg),
                test_cfg=dict(mode='whole'))
            train_pipeline = [
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', reduce_zero_label=True),
                dict(type='RandomCrop', crop_size=crop_size),
                dict(type='PackSegInputs'),
            ]
            test_pipeline = [
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', reduce_zero_label=True),
                dict(type='PackSegInputs'),
            ]
            train_dataloader = dict(
                batch_size=2, num_workers=0, persistent_workers=False,
                dataset=dict(data_root={data_root!r},
                             pipeline=train_pipeline))
            val_dataloader = dict(
                batch_size=1, num_workers=0, persistent_workers=False,
                dataset=dict(data_root={data_root!r},
                             pipeline=test_pipeline))
            test_dataloader = val_dataloader
            train_cfg = dict(max_iters=1, val_interval=1)
            default_hooks = dict(logger=dict(interval=1),
                                 checkpoint=dict(interval=1))
            '''))
    return path


@pytest.fixture(scope='module')
def user_project(tmp_path_factory) -> Dict[str, str]:
    """A user's folder: generated Potsdam tiles and the config."""
    root = tmp_path_factory.mktemp('user_project')
    data = str(root / 'potsdam')
    make_potsdam_sample(data, num_train=2, num_val=1, size=64)
    return dict(root=str(root),
                config=user_config(str(root / 'my_upernet.py'), data))


@pytest.mark.slow  # two fresh interpreters with torch and mmseg
def test_mmseg_train_and_test_scripts_run_a_user_config(user_project):
    root, config = user_project['root'], user_project['config']
    work = osp.join(root, 'work')
    train = run([mmseg_script('train'), config, '--work-dir', work], root)
    log = train.stdout + train.stderr
    assert train.returncode == 0, log[-6000:]
    assert 'Iter(train) [1/1]' in log
    checkpoint = osp.join(work, 'iter_1.pth')
    assert osp.isfile(checkpoint)

    test = run([mmseg_script('test'), config, checkpoint, '--work-dir',
                osp.join(root, 'test')], root)
    log = test.stdout + test.stderr
    assert test.returncode == 0, log[-6000:]
    assert 'Iter(test) [1/1]' in log and 'mIoU' in log


READ_CONFIG = '''
import json, sys
from mmengine.config import Config
try:
    # the bases only: custom_imports not run
    cfg = Config.fromfile(sys.argv[1], import_custom_modules=False)
except Exception as error:
    print(json.dumps(dict(error=f'{type(error).__name__}: {error}')))
else:
    print(json.dumps(dict(backbone=cfg.model.backbone.type,
                          imported='lemevit_mm' in sys.modules)))
'''


def read_config(path: str, cwd: str, hook: bool) -> dict:
    """Read ``path`` with MMEngine alone in a fresh interpreter."""
    result = run(['-c', READ_CONFIG, path], cwd, hook=hook)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_hook_is_what_reads_mmseg_bases_of_a_user_config(user_project):
    root, config = user_project['root'], user_project['config']
    # MMEngine alone, hook on: the bases resolve before custom_imports
    # ran, and the hook did not import lemevit_mm (or torch) to do it
    assert read_config(config, root, hook=True) == dict(
        backbone='LeMeViT', imported=False)
    without = read_config(config, root, hook=False)
    if ORIGINAL_NAMES:
        assert without == dict(backbone='LeMeViT', imported=False)
    else:
        assert without == dict(
            error='ModuleNotFoundError: mmsegmentation is not installed, '
            'please install mmsegmentation manually')


def _bases(path: str) -> list:
    """The ``_base_`` list of a config file, read without MMEngine."""
    with open(path) as file:
        for node in ast.parse(file.read()).body:
            if isinstance(node, ast.Assign) and \
                    getattr(node.targets[0], 'id', None) == '_base_':
                value = ast.literal_eval(node.value)
                return value if isinstance(value, list) else [value]
    return []


def _inherits_mmseg(path: str) -> bool:
    return any(
        base.startswith('mmseg::') if '::' in base else _inherits_mmseg(
            osp.normpath(osp.join(osp.dirname(path), base)))
        for base in _bases(path))


ALL_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                               recursive=True))
# the files that list `mmseg::` bases themselves, and the configs a user
# runs that inherit them
MMSEG_BASED = [path for path in ALL_CONFIGS
               if any(b.startswith('mmseg::') for b in _bases(path))]
MMSEG_CONFIGS = [path for path in ALL_CONFIGS
                 if '_base_' not in path.split(os.sep) and
                 _inherits_mmseg(path)]


def test_repository_configs_import_lemevit_mm_before_mmseg_bases():
    assert len(MMSEG_BASED) >= 3 and len(MMSEG_CONFIGS) >= 10
    for path in MMSEG_BASED:
        # the first base is the import base, or a repository base whose
        # own first base leads to it (read before any `mmseg::` base)
        first = osp.normpath(osp.join(osp.dirname(path), _bases(path)[0]))
        while first != osp.join(REPO, IMPORT_BASE) and _bases(first) and \
                '::' not in _bases(first)[0]:
            first = osp.normpath(osp.join(osp.dirname(first),
                                          _bases(first)[0]))
        assert first == osp.join(REPO, IMPORT_BASE), path
    with open(osp.join(REPO, IMPORT_BASE)) as file:
        body = ast.parse(file.read()).body
    # one expression, no key for the config
    assert [type(node) for node in body] == [ast.Expr]


READ_ALL = '''
import functools, json, sys
import mmengine.config.utils as config_utils
from mmengine.config import Config
# each mmseg:: base re-reads mmseg's model index: once is enough here
config_utils._get_cfg_metainfo = functools.lru_cache(None)(
    config_utils._get_cfg_metainfo)
read = {}
for path in sys.argv[1:]:
    try:
        cfg = Config.fromfile(path, import_custom_modules=False)
        read[path] = cfg.model.backbone.type
    except Exception as error:
        read[path] = f'{type(error).__name__}: {error}'
print(json.dumps(dict(read=read, imported='lemevit_mm' in sys.modules)))
'''


def test_repository_configs_read_without_the_hook(tmp_path):
    # one segmentation and one change-detection chain (the test above
    # checks that every other one starts with the same base)
    configs = [osp.join(REPO, 'configs', 'seg',
                        'lemevit_t_upernet_potsdam_sample.py'),
               osp.join(REPO, 'configs', 'cd', 'lemevit_t_bit_cdd.py')]
    assert set(configs) <= set(MMSEG_CONFIGS)
    result = run(['-c', READ_ALL, *configs], str(tmp_path), hook=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == dict(read=dict.fromkeys(configs, 'LeMeViT'),
                          imported=True)  # by their first base


def installed_pth() -> Optional[str]:
    folders = site.getsitepackages() + [site.getusersitepackages()]
    for folder in folders:
        if osp.isfile(osp.join(folder, PTH)):
            return osp.join(folder, PTH)
    return None


def test_the_hook_is_installed_with_the_package():
    path = installed_pth()
    assert path is not None, (
        f'{PTH} is not in site-packages: reinstall the package '
        '(pip install -e .)')
    with open(path) as installed, open(osp.join(REPO, PTH)) as ours:
        assert installed.read() == ours.read()


PROBE = '''
import json, sys
import mmengine.config.utils as config_utils
print(json.dumps(dict(
    mmseg=config_utils.MODULE2PACKAGE['mmseg'],
    heavy=sorted(m for m in ('torch', 'lemevit_mm', 'mmseg')
                 if m in sys.modules))))
'''


@pytest.mark.parametrize('hook', [True, False])
def test_the_pth_line_mends_the_table_cheaply(tmp_path, hook):
    """The repository's ``.pth`` line, processed by :mod:`site` on its
    own (``-S``: no installed ``.pth`` runs), mends MMEngine's table when
    MMEngine loads, without importing torch, lemevit_mm or mmseg; with
    ``LEMEVIT_SCOPE_HOOK=0`` it does nothing."""
    site_dir = tmp_path / 'site'
    site_dir.mkdir()
    with open(osp.join(REPO, PTH)) as file:
        (site_dir / PTH).write_text(file.read())
    paths = sysconfig.get_paths()
    setup = (f'import site, sys; sys.path += '
             f'{[paths["purelib"], paths["platlib"], REPO]!r}; '
             f'site.addsitedir({str(site_dir)!r})\n')
    result = run(['-S', '-c', setup + PROBE], str(tmp_path), hook=hook)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ''
    report = json.loads(result.stdout)
    assert report['heavy'] == []
    assert report['mmseg'] == (MMSEG_DIST if hook else 'mmsegmentation')


def test_register_renamed_scopes_finds_the_distribution_of_the_module():
    from lemevit_mm.utils.config_scopes import register_renamed_scopes
    table = {'mmseg': 'no-such-distribution', 'mmdet': 'no-such-either',
             'no_such_module': 'no-such-distribution'}
    changed = register_renamed_scopes(table)
    assert set(changed) == {'mmseg', 'mmdet'}
    assert changed['mmseg'].replace('_', '-').lower() == MMSEG_DIST
    assert table['no_such_module'] == 'no-such-distribution'
    # nothing to do where the distributions are installed
    assert register_renamed_scopes(table) == {}
