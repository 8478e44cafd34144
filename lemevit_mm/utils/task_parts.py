"""Task parts that load only where their OpenMMLab packages import.

``import lemevit_mm`` needs torch, mmengine and mmcv (``mmcv-lite``
does): the backbone, the runtime parts and the data pipeline always load.
Each task part (``lemevit_mm.cls``, ``.seg``, ``.cd``, ``.det``) loads
when its OpenMMLab packages import (:data:`TASK_PARTS`, of the package
table in :mod:`lemevit_mm.env`); otherwise it is skipped, and every class
it would register is replaced, in MMEngine's root registry of the same
kind, by a placeholder whose build raises :class:`MissingTaskPackageError`
naming the package to install. A placeholder is registered only under a
name that is free: it never hides a real class.
"""
import ast
import importlib
import importlib.util
import os
import os.path as osp
import traceback
from typing import Dict, List, Optional, Tuple

import mmengine.registry

from ..env import PACKAGE_OF, TASK_PARTS, TaskPart

__all__ = [
    'TASK_PARTS', 'TaskPart', 'MissingTaskPackageError',
    'skipped_task_parts', 'describe_missing', 'registered_names',
    'register_placeholders', 'import_task_parts'
]

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
_skipped: Dict[str, str] = {}


class MissingTaskPackageError(ImportError):
    """A config needs a task part whose OpenMMLab package is missing."""


def skipped_task_parts() -> Dict[str, str]:
    """The task parts that did not load, each with the reason (the
    message of a placeholder without the class name)."""
    return dict(_skipped)


def _in_package(filename: str, package: str) -> bool:
    return f'{osp.sep}{package}{osp.sep}' in filename


def _culprit(part: TaskPart, error: BaseException) -> Optional[str]:
    """The package of ``part`` that ``error`` comes from, or None when it
    comes from lemevit_mm itself (a bug to show, not a part to skip)."""
    if isinstance(error, ImportError) and error.name:
        top = error.name.split('.')[0]
        if top in part.packages:
            return top
    frames = [frame.filename
              for frame in traceback.extract_tb(error.__traceback__)]
    for filename in reversed(frames):
        for package in part.packages:
            if _in_package(filename, package):
                return package
    return None


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def describe_missing(part: TaskPart, package: str,
                     error: BaseException) -> str:
    """``'needs X, which ...: pip install ...'``."""
    if _installed(package):
        first_line = (str(error).strip().splitlines() or [''])[0]
        state = f'failed to import ({type(error).__name__}: {first_line})'
    else:
        state = 'is not installed'
    install = ' '.join(PACKAGE_OF[p].openmmlab[0] for p in part.packages)
    onedl = ' '.join(PACKAGE_OF[p].onedl[0] for p in part.packages)
    if part.needs_ops:
        install += ', with mmcv built with its compiled ops (not mmcv-lite)'
    return (f'needs {package}, which {state}: pip install {install}; '
            f'OneDL stack: {onedl}. `python -m lemevit_mm.env` checks the '
            'whole environment')


def registered_names(part: str) -> List[Tuple[str, str]]:
    """``(registry, class name)`` of every ``@REGISTRY.register_module()``
    class in the files of ``lemevit_mm.<part>``, read from the source
    (the part itself cannot be imported)."""
    folder = osp.join(PACKAGE_DIR, part)
    names = []
    for filename in sorted(os.listdir(folder)):
        if not filename.endswith('.py'):
            continue
        with open(osp.join(folder, filename), encoding='utf-8') as f:
            tree = ast.parse(f.read(), filename)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for decorator in node.decorator_list:
                if not (isinstance(decorator, ast.Call) and isinstance(
                        decorator.func, ast.Attribute) and
                        decorator.func.attr == 'register_module' and
                        isinstance(decorator.func.value, ast.Name)):
                    continue
                name = next((kw.value.value for kw in decorator.keywords
                             if kw.arg == 'name' and
                             isinstance(kw.value, ast.Constant)), node.name)
                names.append((decorator.func.value.id, name))
    return names


def _placeholder(name: str, message: str) -> type:

    def __init__(self, *args, **kwargs) -> None:
        raise MissingTaskPackageError(message)

    return type(name, (), dict(
        __init__=__init__, __doc__=message, __module__=__name__,
        lemevit_placeholder=True))


def register_placeholders(part: TaskPart, reason: str) -> None:
    """Put a placeholder for every class of ``part`` into MMEngine's root
    registry of its kind, under names nothing else holds."""
    for registry_name, name in registered_names(part.name):
        registry = getattr(mmengine.registry, registry_name, None)
        if not isinstance(registry, mmengine.registry.Registry) or \
                name in registry.module_dict:
            continue
        registry.register_module(
            name=name, module=_placeholder(
                name, f'{name} (lemevit_mm.{part.name}) {reason}.'))


def import_task_parts() -> None:
    """Import every task part whose packages import; register
    placeholders for the others. An error from lemevit_mm's own code is
    raised, not skipped."""
    for part in TASK_PARTS:
        try:
            importlib.import_module(f'lemevit_mm.{part.name}')
        except Exception as error:  # noqa: BLE001 (version asserts too)
            package = _culprit(part, error)
            if package is None:
                raise
            reason = describe_missing(part, package, error)
            _skipped[part.name] = reason
            register_placeholders(part, reason)
