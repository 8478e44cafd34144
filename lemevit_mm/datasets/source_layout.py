"""Finding the parts of an official dataset download.

Downloads come as folders or zip archives whose member names vary
between mirrors and releases: ``JPEGImages-trainval.zip`` holding
``JPEGImages-trainval/JPEGImages-trainval/*.jpg``, ``Oriented Bounding
Boxes`` or ``Oriented_Bounding_Boxes``, ``Images/`` or ``images/``. The
converters therefore

1. extract every zip archive found under the source (once, into a
   staging folder), and
2. look for each part by its *normalised* name (lower case, letters and
   digits only) at any depth, among folders that hold the expected kind
   of file,

and name what is missing, with what they found instead, when a part is
not there. Pure Python.
"""
import os
import os.path as osp
import re
import shutil
import zipfile
from typing import Callable, Dict, Iterable, List, Optional, Sequence

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.tif', '.tiff', '.bmp')


def normalise(name: str) -> str:
    """``'Oriented_Bounding Boxes'`` -> ``'orientedboundingboxes'``."""
    return re.sub(r'[^a-z0-9]', '', name.lower())


def extract_archives(source: str, staging: str) -> List[str]:
    """Extract the zip archives under ``source`` (a folder or one
    ``.zip``) into ``staging/<archive path without .zip>/`` (so that
    ``train/part1.zip`` and ``val/part1.zip`` stay apart); an archive
    extracted before is kept. Returns the folders to search: ``source`` (when a
    folder) and the extracted ones.
    """
    if not osp.exists(source):
        raise FileNotFoundError(f'dataset source not found: {source}')
    if osp.isfile(source):
        archives, roots = [source], []
        if not zipfile.is_zipfile(source):
            raise ValueError(f'{source} is neither a folder nor a zip '
                             'archive.')
        top = osp.dirname(source)
    else:
        roots, top = [source], source
        archives = sorted(
            osp.join(folder, name)
            for folder, _, files in os.walk(source, followlinks=True)
            for name in files if name.lower().endswith('.zip'))
    for archive in archives:
        # train/images/part1.zip -> staging/train/images/part1/
        target = osp.join(staging,
                          osp.splitext(osp.relpath(archive, top))[0])
        done = target + '.extracted'
        if not osp.isfile(done):
            shutil.rmtree(target, ignore_errors=True)
            try:
                with zipfile.ZipFile(archive) as members:
                    members.extractall(target)
            except zipfile.BadZipFile as error:
                raise ValueError(f'{archive}: not a readable zip archive '
                                 f'({error}).') from None
            open(done, 'w').close()
        roots.append(target)
    return roots


def _walk(roots: Sequence[str]) -> Iterable[tuple]:
    for root in roots:
        for folder, dirs, files in os.walk(root, followlinks=True):
            dirs.sort()
            yield folder, sorted(files)


def find_folder(roots: Sequence[str],
                names: Sequence[str],
                what: str,
                extensions: Sequence[str] = IMAGE_EXTENSIONS,
                accept: Optional[Callable[[str], bool]] = None) -> str:
    """The folder, at any depth under ``roots``, whose normalised name is
    one of ``names`` (normalised too) and which directly holds files
    ending in one of ``extensions``.

    When several match, the one with the most such files wins (a zip
    holding ``X/X/*.jpg`` next to an empty ``X/``).

    Args:
        roots (Sequence[str]): Folders to search.
        names (Sequence[str]): Accepted names of the folder.
        what (str): What the folder holds, for the error message.
        extensions (Sequence[str]): Suffixes of the files it must hold.
        accept (Callable, optional): Further test of a candidate path.

    Raises:
        FileNotFoundError: Naming the folder names looked for, the
            roots, and the folders with such files that were found.
    """
    wanted = {normalise(n) for n in names}
    extensions = tuple(e.lower() for e in extensions)
    best, best_count, seen = None, 0, []
    for folder, files in _walk(roots):
        count = sum(f.lower().endswith(extensions) for f in files)
        if not count:
            continue
        seen.append(folder)
        if normalise(osp.basename(folder)) not in wanted:
            continue
        if accept is not None and not accept(folder):
            continue
        if count > best_count:
            best, best_count = folder, count
    if best is None:
        found = ', '.join(seen[:6]) + (' ...' if len(seen) > 6 else '')
        raise FileNotFoundError(
            f'{what} not found: expected a folder named '
            f'{" or ".join(repr(n) for n in names)} holding '
            f'{"/".join(extensions)} files under {", ".join(roots)} '
            f'(or in a zip archive there); folders with such files: '
            f'{found or "none"}.')
    return best


def find_file(roots: Sequence[str], names: Sequence[str], what: str,
              parent: Optional[Sequence[str]] = None) -> str:
    """The file, at any depth under ``roots``, whose normalised name is
    one of ``names`` (e.g. ``'train.txt'``), optionally inside a folder
    whose normalised name is one of ``parent``."""
    wanted = {normalise(n) for n in names}
    parents = {normalise(n) for n in parent} if parent else None
    for folder, files in _walk(roots):
        if parents is not None and \
                normalise(osp.basename(folder)) not in parents:
            continue
        for name in files:
            if normalise(name) in wanted:
                return osp.join(folder, name)
    inside = f' in a folder named {" or ".join(parent)}' if parent else ''
    raise FileNotFoundError(
        f'{what} not found: expected a file named '
        f'{" or ".join(repr(n) for n in names)}{inside} under '
        f'{", ".join(roots)} (or in a zip archive there).')


def files_by_stem(folder: str,
                  extensions: Sequence[str] = IMAGE_EXTENSIONS
                  ) -> Dict[str, str]:
    """``{stem: path}`` of the files of ``folder`` with these suffixes."""
    extensions = tuple(e.lower() for e in extensions)
    return {
        osp.splitext(name)[0]: osp.join(folder, name)
        for name in sorted(os.listdir(folder))
        if name.lower().endswith(extensions)
    }


def place_file(src: str, dst: str, copy: bool = False) -> None:
    """Link (or copy) ``src`` to ``dst``, creating its folder; an
    existing ``dst`` is replaced."""
    os.makedirs(osp.dirname(dst) or '.', exist_ok=True)
    if osp.lexists(dst):
        os.remove(dst)
    if copy:
        shutil.copy2(src, dst)
    else:
        os.symlink(osp.abspath(src), dst)


def write_lines(path: str, lines: Iterable[str]) -> None:
    """Write ``lines`` (one per line) to ``path`` atomically."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as file:
        file.writelines(f'{line}\n' for line in lines)
    os.replace(tmp, path)
