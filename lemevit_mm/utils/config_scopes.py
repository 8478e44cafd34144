"""``mmseg::`` config bases under renamed distributions.

MMEngine resolves ``_base_ = 'mmseg::path.py'`` through the table
``mmengine.config.utils.MODULE2PACKAGE``, which maps the scope to the
distribution that ships it (``mmseg`` -> ``mmsegmentation``). The OneDL
forks install the same modules under other distribution names
(``onedl-mmsegmentation``), so that lookup reports mmsegmentation as not
installed although ``mmseg`` imports.
"""
import importlib.metadata as metadata
import importlib.util
from typing import Dict


def _is_distribution(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def register_renamed_scopes() -> Dict[str, str]:
    """Point every config scope of MMEngine's table whose distribution is
    absent, but whose module imports, to the distribution that installs
    the module. Returns the changed entries ``{scope: distribution}``.

    Nothing changes where the original distributions are installed.
    """
    from mmengine.config.utils import MODULE2PACKAGE
    renamed = [scope for scope, package in MODULE2PACKAGE.items()
               if not _is_distribution(package) and
               importlib.util.find_spec(scope) is not None]
    if not renamed:
        return {}
    providers = metadata.packages_distributions()
    changed = {}
    for scope in renamed:
        dists = providers.get(scope, [])
        if len(dists) == 1:
            MODULE2PACKAGE[scope] = changed[scope] = dists[0]
    return changed
