"""``mmseg::`` config bases under renamed distributions.

MMEngine resolves ``_base_ = 'mmseg::path.py'`` through the table
``mmengine.config.utils.MODULE2PACKAGE``, which maps the scope to the
distribution that ships it (``mmseg`` -> ``mmsegmentation``). The OneDL
forks install the same modules under other distribution names
(``onedl-mmsegmentation``), so that lookup reports mmsegmentation as not
installed although ``mmseg`` imports. (``mmdet::``, ``mmrotate::`` and
``mmpretrain::`` resolve anyway: their distribution names equal the
module names, and MMEngine then also tries the module itself; those
entries are left as they are.)

:func:`register_renamed_scopes` points such entries at the distribution
that does install the module. Three things call it, whichever comes
first:

- ``import lemevit_mm`` (and so a config's ``custom_imports``);
- ``configs/_base_/import_lemevit_mm.py``, the first base of this
  repository's configs that use ``mmseg::`` bases: MMEngine reads the
  bases of a list in order, and a config's ``custom_imports`` run only
  after all of them are read;
- the start-up hook installed with the package
  (``lemevit_mm_startup.pth`` and the module ``_lemevit_mm_startup``):
  in every Python process it mends the table as soon as MMEngine creates
  it, so users' own configs with ``mmseg::`` bases work in any program
  (mmseg's own ``tools/train.py`` too). ``LEMEVIT_SCOPE_HOOK=0`` turns it
  off. The hook loads this file without importing ``lemevit_mm`` (whose
  import pulls torch): keep it to the standard library.
"""
import importlib.metadata as metadata
import importlib.util
import os
import os.path as osp
import re
from typing import Dict, List, Optional

__all__ = ['register_renamed_scopes']


def _is_distribution(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def _normalized(name: str) -> str:
    """A distribution name as wheels spell it in ``*.dist-info``."""
    return re.sub(r'[-_.]+', '_', name).lower()


def _ships(dist: metadata.Distribution, module: str) -> bool:
    top_level = dist.read_text('top_level.txt')
    if top_level is not None:
        return module in top_level.split()
    return any(str(file).split('/', 1)[0] == module
               for file in dist.files or ())


def _providers(module: str, package: str) -> List[str]:
    """The names of the distributions that ship the top-level ``module``
    in place of ``package``.

    First the distributions installed beside ``module`` whose name holds
    ``package`` (a fork: ``onedl-mmsegmentation``): one folder listing and
    a file or two. Only where there is none, every distribution.
    """
    spec = importlib.util.find_spec(module)
    locations = list(spec.submodule_search_locations or []) or \
        [spec.origin]
    folders = sorted({osp.dirname(osp.abspath(location))
                      for location in locations if location})
    wanted = _normalized(package)
    found = set()
    for folder in folders:
        for entry in os.listdir(folder):
            name = entry.partition('-')[0]
            if entry.endswith('.dist-info') and \
                    wanted in _normalized(name):
                dist = metadata.PathDistribution.at(osp.join(folder, entry))
                if _ships(dist, module):
                    found.add(dist.metadata['Name'])
    if not found:
        found.update(metadata.packages_distributions().get(module, ()))
    return sorted(found)


def register_renamed_scopes(
        table: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Point every config scope of MMEngine's table whose distribution is
    absent, but whose module imports, to the distribution that installs
    the module (when exactly one does).

    Nothing changes where the original distributions are installed.

    Args:
        table (dict, optional): The table to mend, in place. Defaults to
            ``mmengine.config.utils.MODULE2PACKAGE``.

    Returns:
        dict: The changed entries ``{scope: distribution}``.
    """
    if table is None:
        from mmengine.config.utils import MODULE2PACKAGE as table
    changed = {}
    for scope, package in list(table.items()):
        # Where the distribution is called as the module (mmdet, mmrotate,
        # mmpretrain), MMEngine finds the module without the table.
        if package == scope or importlib.util.find_spec(scope) is None \
                or _is_distribution(package):
            continue
        providers = _providers(scope, package)
        if len(providers) == 1:
            table[scope] = changed[scope] = providers[0]
    return changed
