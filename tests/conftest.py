import os
import os.path as osp

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = os.environ.get('LEMEVIT_SHARED', osp.join(REPO, '..', 'shared'))
REFERENCE = osp.join(SHARED, 'reference')
OFFICIAL_TINY = osp.join(REFERENCE, 'lemevit_tiny_official.pth')
TINY_IO = osp.join(REFERENCE, 'lemevit_tiny_io.pt')


@pytest.fixture(scope='session')
def reference_io() -> dict:
    """The authors' reference inputs and outputs of LeMeViT-tiny."""
    if not osp.isfile(TINY_IO):
        if os.environ.get('CI'):
            pytest.fail(f'reference tensors missing: {TINY_IO}')
        pytest.skip(f'reference tensors missing: {TINY_IO}')
    return torch.load(TINY_IO, weights_only=True)


@pytest.fixture(scope='session')
def official_tiny(reference_io) -> str:
    """Path of the authors' LeMeViT-tiny checkpoint."""
    assert osp.isfile(OFFICIAL_TINY), OFFICIAL_TINY
    return OFFICIAL_TINY


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield
