"""`python -m lemevit_mm.env`: the environment check, as a user runs it."""
import importlib.metadata as metadata
import os
import platform
import subprocess
import sys

import torch

from helpers import REPO
from lemevit_mm.env import PACKAGES


def run_env_check(env: dict = None) -> tuple:
    """Exit code and report lines (``{key: [values]}``) of the check."""
    proc = subprocess.run(
        [sys.executable, '-m', 'lemevit_mm.env'], cwd=REPO, timeout=300,
        capture_output=True, text=True, env={**os.environ, **(env or {})})
    lines = proc.stdout.splitlines()
    header = lines.index('lemevit-mm environment check')  # after any
    rows: dict = {}  # import-time prints of the OpenMMLab packages
    for line in lines[header + 1:]:
        key, value = line[:12].strip(), line[13:]
        rows.setdefault(key, []).append(value)
    return proc.returncode, rows, proc.stdout + proc.stderr


def installed_stack() -> tuple:
    """This environment's stack and distributions, by their names."""
    found = {}
    for pkg in PACKAGES:
        for stack in ('openmmlab', 'onedl'):
            for dist in getattr(pkg, stack):
                try:
                    found[pkg.module] = (stack, dist, metadata.version(dist))
                except metadata.PackageNotFoundError:
                    pass
    stacks = {stack for stack, _, _ in found.values()}
    assert len(stacks) == 1, found
    return stacks.pop(), found


def test_env_check_reports_this_environment():
    code, rows, output = run_env_check()
    assert code == 0, output
    assert rows['python'][0].startswith(platform.python_version() + ' ')
    assert rows['torch'] == [torch.__version__]
    stack, found = installed_stack()
    for module, (_, dist, version) in found.items():
        assert rows[module] == [f'{dist} {version}'], output
    assert rows['stack'][0].startswith(f'{stack} ('), output
    assert rows['mmcv ops'][0].startswith('loaded ('), output
    assert rows['task parts'] == [
        'cls: active, seg: active, det: active, cd: active'], output
    assert rows['result'] == ['OK'] and 'problem' not in rows, output


def test_env_check_names_broken_and_doubled_packages(tmp_path):
    # An mmrotate that fails to import, and metadata of a second mmdet
    # distribution from the other stack.
    stack, _ = installed_stack()
    (tmp_path / 'mmrotate').mkdir()
    (tmp_path / 'mmrotate' / '__init__.py').write_text(
        "raise ImportError('planted by the test')\n")
    other = next(p for p in PACKAGES if p.module == 'mmdet')
    second = (other.onedl if stack == 'openmmlab' else other.openmmlab)[0]
    info = tmp_path / f'{second.replace("-", "_")}-9.9.9.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        f'Metadata-Version: 2.1\nName: {second}\nVersion: 9.9.9\n')
    code, rows, output = run_env_check(dict(PYTHONPATH=str(tmp_path)))
    assert code == 1, output
    assert rows['mmrotate'][0].endswith(': BROKEN'), output
    assert rows['stack'] == ['mixed'], output
    problems = dict(zip(rows['problem'], rows['fix']))
    broken = [p for p in problems
              if p.startswith('mmrotate') and 'planted by the test' in p]
    assert broken and problems[broken[0]] == f'make install STACK={stack}'
    doubled = [p for p in problems if p.startswith(
        'mmdet is installed by 2 distributions')]
    assert doubled and second in doubled[0], output
    assert problems[doubled[0]] == f'pip uninstall -y {other.openmmlab[0]} ' \
        f'{other.onedl[0]} && make install STACK={stack}', output
    assert rows['result'] == [f'{len(problems)} problems'], output


def test_one_package_table_for_the_check_and_the_task_parts():
    """The loading of the task parts and the check read the same table;
    the fix a skipped part names comes from it."""
    from lemevit_mm import env
    from lemevit_mm.utils import task_parts
    assert task_parts.TASK_PARTS is env.TASK_PARTS
    assert [part.name for part in env.TASK_PARTS] == ['cls', 'seg', 'det',
                                                      'cd']
    modules = {pkg.module for pkg in PACKAGES}
    assert all(set(part.packages) <= modules for part in env.TASK_PARTS)
    assert [part.name for part in env.TASK_PARTS if part.needs_ops] == \
        ['det']
    det = next(part for part in env.TASK_PARTS if part.name == 'det')
    message = task_parts.describe_missing(
        det, 'mmrotate', ImportError("No module named 'mmrotate'"))
    assert message.endswith(
        'pip install mmdet mmrotate, with mmcv built with its compiled ops '
        '(not mmcv-lite); OneDL stack: onedl-mmdetection onedl-mmrotate. '
        '`python -m lemevit_mm.env` checks the whole environment')


def test_env_check_runs_as_a_file_without_the_package(tmp_path):
    """``python lemevit_mm/env.py`` (what tools/install.sh runs when a
    step fails) imports only the standard library: it starts without
    site-packages (``-S``)."""
    proc = subprocess.run(
        [sys.executable, '-S', os.path.join(REPO, 'lemevit_mm', 'env.py'),
         '--help'], cwd=str(tmp_path), capture_output=True, text=True,
        timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert 'python -m lemevit_mm.env' in proc.stdout
