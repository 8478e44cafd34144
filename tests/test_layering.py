"""The package's layers: no import runs from a lower layer to a higher
one, and nothing of the product imports the test fixtures.

Every ``import`` and ``from ... import`` of every module of
``lemevit_mm`` (at module level or inside a function) is read with
:mod:`ast`, without importing anything, so this runs without torch.
"""
import ast
import os
import os.path as osp

import pytest

from helpers import REPO

PACKAGE = osp.join(REPO, 'lemevit_mm')
# The layers of the package, lowest first: a module may import its own
# layer and those below. ``__init__`` is the top-level ``lemevit_mm``.
LAYERS = (
    # numpy, rasterio or torch only: no model, no OpenMMLab task package
    ('version', 'utils', 'io', 'geometry', 'raster', 'env'),
    ('models', ),
    ('datasets', 'engine'),
    ('cls', 'det', 'seg', 'cd'),  # the task parts
    ('apis', 'reports', 'cli', '__init__'),
    ('testing', ),  # fixtures: synthetic data, reference models
    # benchmarks (on synthetic data, hence above the fixtures), export
    ('deploy', 'analysis'),
)
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _module_name(path: str) -> str:
    relative = osp.relpath(path, REPO)[:-len('.py')].split(os.sep)
    if relative[-1] == '__init__':
        relative.pop()
    return '.'.join(relative)


def _imported_modules(path: str):
    """``(line, module)`` of every ``lemevit_mm`` import in ``path``."""
    name = _module_name(path)
    package = name if path.endswith('__init__.py') else name.rsplit('.',
                                                                    1)[0]
    with open(path, encoding='utf-8') as file:
        tree = ast.parse(file.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split('.')
                base = parts[:len(parts) - node.level + 1]
                module = '.'.join(base + [node.module] if node.module else
                                  base)
            else:
                module = node.module
            if node.module is None or module == 'lemevit_mm':
                # `from . import x` / `from lemevit_mm import x`
                for alias in node.names:
                    yield node.lineno, f'{module}.{alias.name}'
            else:
                yield node.lineno, module


def _part(module: str) -> str:
    """The layer part of a ``lemevit_mm`` module name."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else '__init__'


def package_modules():
    for folder, _, files in os.walk(PACKAGE):
        for file in sorted(files):
            if file.endswith('.py'):
                yield osp.join(folder, file)


def layering_violations():
    """``'file:line: a -> b'`` for each import against :data:`LAYERS`, and
    the parts of the package that :data:`LAYERS` does not name."""
    problems, unknown = [], set()
    for path in package_modules():
        source = _part(_module_name(path))
        for line, module in _imported_modules(path):
            if module.split('.')[0] != 'lemevit_mm':
                continue
            target = _part(module)
            for part in (source, target):
                if part not in RANK:
                    unknown.add(part)
            if source in RANK and target in RANK and \
                    RANK[target] > RANK[source]:
                problems.append(f'{osp.relpath(path, REPO)}:{line}: '
                                f'{source} -> {target} ({module})')
    return problems, unknown


def test_no_import_runs_up_a_layer():
    problems, unknown = layering_violations()
    assert not unknown, (
        f'lemevit_mm parts {sorted(unknown)} are in no layer: add them to '
        'LAYERS in tests/test_layering.py')
    assert not problems, ('imports from a lower layer to a higher one:\n' +
                          '\n'.join(problems))


def test_product_never_imports_the_fixtures():
    """Only the fixtures themselves and the benchmarks on synthetic data
    (``analysis``) import :mod:`lemevit_mm.testing`."""
    found = [
        f'{osp.relpath(path, REPO)}:{line}: {module}'
        for path in package_modules()
        if _part(_module_name(path)) not in ('testing', 'analysis')
        for line, module in _imported_modules(path)
        if module == 'lemevit_mm.testing' or
        module.startswith('lemevit_mm.testing.')
    ]
    assert not found, '\n'.join(found)


@pytest.mark.parametrize('source,target', [
    ('models', 'cls'), ('utils', 'models'), ('utils', 'apis'),
    ('models', 'testing'), ('seg', 'testing'), ('io', 'apis')
])
def test_checker_sees_an_upward_import(tmp_path, monkeypatch, source,
                                       target):
    """A planted upward import is reported with its file and line."""
    package = tmp_path / 'lemevit_mm'
    (package / source).mkdir(parents=True)
    (package / source / 'bad.py').write_text(
        'import os\n\n\ndef late():\n'
        f'    from ..{target}.thing import name  # noqa\n')
    monkeypatch.setitem(globals(), 'REPO', str(tmp_path))
    monkeypatch.setitem(globals(), 'PACKAGE', str(package))
    problems, _ = layering_violations()
    assert problems == [f'lemevit_mm/{source}/bad.py:5: {source} -> '
                        f'{target} (lemevit_mm.{target}.thing)']
