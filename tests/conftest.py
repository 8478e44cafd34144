"""Fixtures shared by the test files.

The fidelity tests compare with the authors' own outputs. Two sources:

- ``seeded`` (always, from ``tests/data/seeded``): weights regenerated
  from a seed in the authors' layout and the authors' float64 outputs on
  them (:mod:`lemevit_mm.testing.seeded_reference`); a fresh clone runs
  every test on it.
- ``released`` (when ``$LEMEVIT_SHARED/reference`` has it, default
  ``../shared``): the authors' released LeMeViT-tiny checkpoint (35 MB,
  not in the repository) and its reference tensors. The tests marked
  ``trained_weights`` (where trained activations add something: the
  numbers of the maps, logits, export and compile) then run a second time
  on them; the ``[released]`` cases of the others (checkpoint formats,
  which the seeded file shares) are deselected. Without the files these
  cases are not collected (the test report says so);
  ``LEMEVIT_REQUIRE_RELEASED=1`` makes their absence an error instead.
"""
import os
import os.path as osp
from typing import List

import pytest
import torch

from helpers import FP32_ERROR_FACTOR, SEEDED_DATA

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = os.environ.get('LEMEVIT_SHARED', osp.join(REPO, '..', 'shared'))
REFERENCE = osp.join(SHARED, 'reference')
OFFICIAL_TINY = osp.join(REFERENCE, 'lemevit_tiny_official.pth')
TINY_IO = osp.join(REFERENCE, 'lemevit_tiny_io.pt')
REQUIRE_RELEASED = 'LEMEVIT_REQUIRE_RELEASED'
# The released tensors are float32 outputs of the authors' code.
RELEASED_TOL = 1e-4


def released_available() -> bool:
    return osp.isfile(OFFICIAL_TINY) and osp.isfile(TINY_IO)


def reference_sources() -> List[str]:
    return ['seeded', 'released'] if released_available() else ['seeded']


def pytest_configure(config) -> None:
    config.addinivalue_line(
        'markers', 'trained_weights: also run on the released checkpoint')
    if os.environ.get(REQUIRE_RELEASED) == '1' and \
            not released_available():
        raise pytest.UsageError(
            f'{REQUIRE_RELEASED}=1 but the released reference is missing: '
            f'{OFFICIAL_TINY} and {TINY_IO} (set LEMEVIT_SHARED to the '
            'folder holding reference/)')


def pytest_collection_modifyitems(config, items) -> None:
    """Keep the ``[released]`` cases of ``trained_weights`` tests only."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, 'callspec', None)
        released = callspec is not None and \
            callspec.params.get('reference_source') == 'released'
        if released and item.get_closest_marker('trained_weights') is None:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def reference_note() -> str:
    if released_available():
        return f'reference weights: seeded and released ({REFERENCE})'
    return (f'reference weights: seeded only; the released checkpoint is '
            f'not at {OFFICIAL_TINY}, so its cases are not collected')


def pytest_report_header(config) -> str:
    return reference_note()


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.write_line(reference_note())


@pytest.fixture(scope='session', params=reference_sources())
def reference_source(request) -> str:
    return request.param


@pytest.fixture(scope='session')
def seeded_tiny_checkpoint(tmp_path_factory) -> str:
    """The seeded LeMeViT-tiny weights saved as the authors' file is: a
    flat state dict in their names and order."""
    from lemevit_mm.testing.seeded_reference import load_seeded_reference
    reference = load_seeded_reference(SEEDED_DATA, 'tiny')
    path = str(tmp_path_factory.mktemp('seeded') / 'lemevit_tiny_seeded.pth')
    torch.save(reference.weights, path)
    return path


@pytest.fixture(scope='session')
def reference_io(reference_source, seeded_tiny_checkpoint) -> dict:
    """Inputs and the authors' outputs of LeMeViT-tiny, with the bound of
    each comparison: ``dense_input``, ``dense_feats`` (four maps),
    ``dense_tol`` (one bound per map), ``cls_input``, ``cls_logits``,
    ``cls_tol`` and ``source``. The seeded outputs are float64, bounded
    by 5x the authors' own float32 error."""
    if reference_source == 'released':
        io = torch.load(TINY_IO, weights_only=True)
        return dict(io, source='released', dense_tol=[RELEASED_TOL] * 4,
                    cls_tol=RELEASED_TOL)
    from lemevit_mm.testing.seeded_reference import load_seeded_reference
    ref = load_seeded_reference(SEEDED_DATA, 'tiny')
    factor = FP32_ERROR_FACTOR
    return dict(
        source='seeded', dense_input=ref.dense_input,
        dense_feats=ref.dense_feats,
        dense_tol=[factor * e for e in ref.fp32_error['dense']],
        cls_input=ref.cls_input, cls_logits=ref.cls_logits,
        cls_tol=factor * ref.fp32_error['cls'])


@pytest.fixture(scope='session')
def official_tiny(reference_source, seeded_tiny_checkpoint) -> str:
    """An authors'-layout LeMeViT-tiny checkpoint, the one whose outputs
    ``reference_io`` holds: the released file or the seeded stand-in."""
    if reference_source == 'released':
        return OFFICIAL_TINY
    return seeded_tiny_checkpoint


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield
