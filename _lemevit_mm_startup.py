"""lemevit_mm's start-up hook: ``mmseg::`` config bases on the OneDL stack
in every program.

The line of ``lemevit_mm_startup.pth``, which the package installs into
site-packages and Python's :mod:`site` runs when an interpreter starts,
calls :func:`install` (unless the environment sets
``LEMEVIT_SCOPE_HOOK=0``). That puts one finder on :data:`sys.meta_path`
which finds nothing itself: it only watches for ``mmengine.config.utils``.
When that module has run, the finder mends the table it defines
(``MODULE2PACKAGE``: config scope -> distribution) with
:func:`lemevit_mm.utils.config_scopes.register_renamed_scopes`, loaded
from its file without importing ``lemevit_mm`` (which would pull torch
into every process). So a user's config with
``_base_ = ['mmseg::...']`` and ``custom_imports=dict(imports=
['lemevit_mm'])`` reads in any program on either OpenMMLab stack,
mmseg's own ``tools/train.py`` too, although its ``custom_imports`` run
only after its bases are read.

Cost: this module (standard library only) at start-up, one string
comparison per import, and the mending itself (a look at the
distributions installed next to ``mmseg``) in processes that import
MMEngine. Where the table needs nothing (the 2023 OpenMMLab stack),
nothing changes. A failure never breaks MMEngine's import: it is reported
as a warning, and MMEngine's own error then names the missing
distribution.
"""
import os
import sys
from typing import Optional

__all__ = ['install', 'uninstall', 'ENVIRONMENT_VARIABLE']

# Set to 0 to turn the hook off.
ENVIRONMENT_VARIABLE = 'LEMEVIT_SCOPE_HOOK'
WATCHED = 'mmengine.config.utils'


def _mend(table: dict) -> None:
    """Apply ``register_renamed_scopes`` of lemevit_mm to ``table``."""
    import importlib.util
    try:
        package = importlib.util.find_spec('lemevit_mm')
        if package is None or not package.submodule_search_locations:
            return  # lemevit_mm is gone; its .pth may outlive it briefly
        path = os.path.join(package.submodule_search_locations[0], 'utils',
                            'config_scopes.py')
        spec = importlib.util.spec_from_file_location(
            '_lemevit_mm_config_scopes', path)
        config_scopes = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(config_scopes)
        config_scopes.register_renamed_scopes(table)
    except Exception as error:  # never break MMEngine's import
        import warnings
        warnings.warn(
            f'lemevit_mm start-up hook: could not mend MMEngine\'s config '
            f'scope table ({type(error).__name__}: {error}); '
            f'{ENVIRONMENT_VARIABLE}=0 turns the hook off.')


class ScopeTableFinder:
    """A :data:`sys.meta_path` finder that lets the other finders find
    ``mmengine.config.utils`` and makes its loader call :func:`_mend`
    after the module has run. It finds nothing else."""

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname != WATCHED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, '__dict__'):
            return spec

        run_module = loader.exec_module

        def exec_module(module) -> None:
            run_module(module)
            table = getattr(module, 'MODULE2PACKAGE', None)
            if isinstance(table, dict):
                _mend(table)

        loader.exec_module = exec_module
        return spec


_finder: Optional[ScopeTableFinder] = None


def install() -> None:
    """Mend MMEngine's table when it is created (now, if it exists)."""
    global _finder
    if os.environ.get(ENVIRONMENT_VARIABLE, '1') == '0':
        return
    module = sys.modules.get(WATCHED)
    if module is not None:
        _mend(module.MODULE2PACKAGE)
    elif _finder is None:
        _finder = ScopeTableFinder()
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Take the finder off :data:`sys.meta_path` (a table already mended
    stays so)."""
    global _finder
    if _finder is not None and _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    _finder = None
