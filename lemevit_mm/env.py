"""Environment check: ``python -m lemevit_mm.env``.

Reports the versions found, which OpenMMLab stack provides them (the 2023
OpenMMLab release set or the maintained OneDL forks, told apart by their
distribution names), whether mmcv's compiled ops load, which task parts of
lemevit_mm are active and, for each problem, a one-line fix. Exits 1 when
something needed is broken (``--all-parts``: also when a task part is
inactive), else 0.

Only the standard library is imported at module level: the check also
runs as ``python lemevit_mm/env.py`` where ``import lemevit_mm`` fails
(``tools/install.sh`` does that when a step fails).
"""
import argparse
import importlib
import importlib.metadata as metadata
import platform
import sys
from typing import Dict, List, NamedTuple, Optional, Tuple

STACKS = ('openmmlab', 'onedl')


# ------------------------------------------------------------------------
# The one table of the OpenMMLab packages lemevit_mm builds on, their pip
# distributions in each stack, and the task parts that need them. The
# environment check reads it, and so does the loading of the task parts
# (:mod:`lemevit_mm.utils.task_parts`).
class Package(NamedTuple):
    """An OpenMMLab module and its distributions in each stack (the first
    of each is the one to install)."""
    module: str
    openmmlab: Tuple[str, ...]
    onedl: Tuple[str, ...]
    probe: str  # what is imported to check it (version asserts included)
    needs_ops: bool = False  # imports mmcv's compiled ops (not mmcv-lite)


PACKAGES = (
    Package('mmengine', ('mmengine', 'mmengine-lite'), ('onedl-mmengine',),
            'mmengine.runner'),
    Package('mmcv', ('mmcv', 'mmcv-lite'), ('onedl-mmcv',), 'mmcv.cnn'),
    Package('mmdet', ('mmdet',), ('onedl-mmdetection',), 'mmdet.models'),
    Package('mmrotate', ('mmrotate',), ('onedl-mmrotate',),
            'mmrotate.models', needs_ops=True),
    Package('mmseg', ('mmsegmentation',), ('onedl-mmsegmentation',),
            'mmseg.models'),
    Package('mmpretrain', ('mmpretrain',), ('onedl-mmpretrain',),
            'mmpretrain.models'),
)
PACKAGE_OF = {pkg.module: pkg for pkg in PACKAGES}


class TaskPart(NamedTuple):
    """A subpackage of lemevit_mm and the OpenMMLab modules it needs."""
    name: str
    packages: Tuple[str, ...]

    @property
    def needs_ops(self) -> bool:
        """Whether one of its packages needs mmcv's compiled ops."""
        return any(PACKAGE_OF[name].needs_ops for name in self.packages)


# In the order ``import lemevit_mm`` loads them.
TASK_PARTS = (
    TaskPart('cls', ('mmpretrain', )),
    TaskPart('seg', ('mmseg', )),
    TaskPart('det', ('mmdet', 'mmrotate')),
    TaskPart('cd', ('mmseg', )),
)
# ------------------------------------------------------------------------
REQUIRED = ('torch', 'mmengine', 'mmcv')
OTHERS = ('torchvision', 'rasterio', 'onnxruntime')


class Problem(NamedTuple):
    what: str
    fix: str


def _version(dist: str) -> Optional[str]:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _error(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines() or ['']
    return f'{type(exc).__name__}: {lines[0]}'


class Report:
    """Collects the findings; :meth:`lines` renders them."""

    def __init__(self) -> None:
        self.rows: List[Tuple[str, str]] = []
        self.problems: List[Problem] = []
        self.dists: Dict[str, List[Tuple[str, str]]] = {}
        self.imported: Dict[str, bool] = {}
        self.stack: Optional[str] = None
        # the stack of most modules here, which the fixes reinstall
        self.main_stack = 'onedl'
        self.ops_loaded = False

    def install_cmd(self) -> str:
        return f'make install STACK={self.main_stack}'

    def row(self, key: str, value: str) -> None:
        self.rows.append((key, value))

    def problem(self, what: str, fix: str) -> None:
        self.problems.append(Problem(what, fix))

    def lines(self) -> List[str]:
        out = ['lemevit-mm environment check']
        out += [f'{key:<12} {value}' for key, value in self.rows]
        for item in self.problems:
            out += [f'{"problem":<12} {item.what}',
                    f'{"  fix":<12} {item.fix}']
        count = len(self.problems)
        out.append(f'{"result":<12} ' +
                   ('OK' if not count else
                    f'{count} problem{"s" if count > 1 else ""}'))
        return out


def check_stack(report: Report) -> None:
    """Which distributions provide the OpenMMLab modules; both stacks (or
    two distributions of one module) at once is a problem."""
    stacks: List[str] = []
    for pkg in PACKAGES:
        for stack in STACKS:
            for dist in getattr(pkg, stack):
                version = _version(dist)
                if version is not None:
                    report.dists.setdefault(pkg.module, []).append(
                        (dist, version))
                    stacks.append(stack)
    if stacks:
        report.main_stack = max(STACKS, key=stacks.count)
    for pkg in PACKAGES:
        found = report.dists.get(pkg.module, [])
        if len(found) > 1:
            names = ' '.join(dist for dist, _ in found)
            report.problem(
                f'{pkg.module} is installed by {len(found)} distributions '
                f'({names}), whose files overwrite each other',
                f'pip uninstall -y {names} && {report.install_cmd()}')
    if len(set(stacks)) == 1:
        report.stack = stacks[0]
    elif stacks:
        other = 'onedl' if report.main_stack == 'openmmlab' else 'openmmlab'
        minority = [d for pkg in PACKAGES for d, _ in report.dists.get(
            pkg.module, []) if d in getattr(pkg, other)]
        report.stack = 'mixed'
        report.problem(
            f'OpenMMLab packages from both stacks are installed ({other}: '
            f'{" ".join(minority)})',
            f'pip uninstall -y {" ".join(minority)} && '
            f'{report.install_cmd()}')


def check_imports(report: Report) -> None:
    """Versions of every package, importing each OpenMMLab one as a user
    does (their version asserts and import bugs show up here)."""
    report.row('python', f'{platform.python_version()} ({sys.executable})')
    try:
        import torch
        report.row('torch', torch.__version__)
        report.imported['torch'] = True
    except Exception as exc:  # noqa: BLE001 (any import failure)
        report.row('torch', f'missing ({_error(exc)})')
        report.problem(f'torch does not import: {_error(exc)}',
                       report.install_cmd())
        report.imported['torch'] = False
    for pkg in PACKAGES:
        found = report.dists.get(pkg.module)
        if not found:
            report.row(pkg.module, 'not installed')
            report.imported[pkg.module] = False
            if pkg.module in REQUIRED:
                report.problem(f'{pkg.module} is not installed',
                               report.install_cmd())
            continue
        dist_text = ', '.join(f'{dist} {version}' for dist, version in found)
        try:
            importlib.import_module(pkg.probe)
        except Exception as exc:  # noqa: BLE001
            report.row(pkg.module, f'{dist_text}: BROKEN')
            report.imported[pkg.module] = False
            report.problem(f'{pkg.module} ({dist_text}) does not import: '
                           f'{_error(exc)}', report.install_cmd())
        else:
            report.row(pkg.module, dist_text)
            report.imported[pkg.module] = True
    for name in OTHERS:
        version = _version(name)
        report.row(name, version or 'not installed')
    if _version('rasterio') is None:
        report.problem('rasterio is not installed (raster reading and '
                       'writing of every task)', 'pip install rasterio')
    if report.stack in STACKS:
        names = [d for pkg in PACKAGES
                 for d, _ in report.dists.get(pkg.module, [])]
        report.row('stack', f'{report.stack} ({" ".join(names)})')
    else:
        report.row('stack', report.stack or 'none')


def check_ops(report: Report) -> None:
    """Whether ``mmcv._ext`` (the compiled ops) loads."""
    if not report.imported.get('mmcv'):
        report.row('mmcv ops', 'unknown (mmcv does not import)')
        return
    dists = [dist for dist, _ in report.dists.get('mmcv', [])]
    try:
        ext = importlib.import_module('mmcv._ext')
        from mmcv.ops import nms_rotated  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        if dists == ['mmcv-lite']:
            report.row('mmcv ops', 'none (mmcv-lite has no compiled ops)')
        else:
            report.row('mmcv ops', f'BROKEN ({_error(exc)})')
            report.problem(
                f'mmcv compiled ops do not load: {_error(exc)}',
                f'{report.install_cmd()} (rebuilds or reinstalls '
                'the cached mmcv wheel for this torch)')
        return
    count = sum(not name.startswith('_') for name in dir(ext))
    report.ops_loaded = True
    report.row('mmcv ops', f'loaded ({count} ops in mmcv._ext)')


def check_task_parts(report: Report, all_parts: bool) -> None:
    """Which task parts of lemevit_mm loaded (``import lemevit_mm`` skips
    those whose OpenMMLab packages do not import)."""
    try:
        module = importlib.import_module('lemevit_mm')
    except Exception as exc:  # noqa: BLE001
        report.row('lemevit_mm', f'BROKEN ({_error(exc)})')
        report.problem(f'lemevit_mm does not import: {_error(exc)}',
                       report.install_cmd())
        return
    report.row('lemevit_mm', f'{module.__version__} '
               f'({module.__path__[0]})')
    skipped = getattr(module, 'skipped_task_parts', dict)()
    states = []
    for task_part in TASK_PARTS:
        part, needs = task_part.name, task_part.packages
        reason = skipped.get(part)
        if reason is None and task_part.needs_ops and \
                not report.ops_loaded:
            reason = 'needs mmcv with its compiled ops'
        if reason is None:
            states.append(f'{part}: active')
            continue
        missing = [name for name in needs if not report.dists.get(name)]
        broken = [name for name in needs if report.dists.get(name) and
                  not report.imported.get(name)]
        notes = [f'needs {" ".join(missing)}'] if missing else []
        notes += [f'{" ".join(broken)} broken'] if broken else []
        states.append(f'{part}: off' +
                      (f' ({"; ".join(notes)})' if notes else ''))
        # A broken package is already a problem of its own.
        if all_parts and not broken or not (missing or broken):
            report.problem(f'task part {part} is off: {reason}',
                           report.install_cmd())
    report.row('task parts', ', '.join(states))


def run_checks(all_parts: bool = False) -> Report:
    """Run every check; the report says what was found."""
    report = Report()
    check_stack(report)
    check_imports(report)
    check_ops(report)
    check_task_parts(report, all_parts)
    return report


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m lemevit_mm.env', description=__doc__.split('\n')[0])
    parser.add_argument(
        '--all-parts', action='store_true',
        help='count a task part that is off (its package missing) as a '
        'problem, as `make install` installs all of them')
    args = parser.parse_args(argv)
    report = run_checks(args.all_parts)
    print('\n'.join(report.lines()))
    return 1 if report.problems else 0


if __name__ == '__main__':
    sys.exit(main())
