"""tools/gpu_check.py, run as the GPU machine would run it but on the CPU
(``--device cpu --quick``) with the task packages hidden (only torch,
mmengine and mmcv), and its pieces: the mmseg-free UperNet, the switch of
the inference rewrites."""
import math
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from lemevit_mm.analysis import gpu_check as check

from helpers import REPO, load_tool

HIDDEN = ('mmdet', 'mmrotate', 'mmseg', 'mmpretrain', 'mmcv.ops',
          'mmcv._ext')
SECTIONS = ('Environment', '1. Parity', '2. Attention backends',
            '3. CPU inference rewrites', '4. Training step',
            '5. Inference throughput')
RUN_HIDDEN = '''
import runpy
import sys

sys.modules.update(dict.fromkeys({hidden!r}))
sys.argv = {argv!r}
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.fixture(scope='module')
def gpu_check():
    return load_tool('tools/gpu_check.py')


@pytest.fixture(scope='module')
def quick_report(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('gpu_check') / 'report.md')
    argv = [osp.join(REPO, 'tools', 'gpu_check.py'), '--device', 'cpu',
            '--quick', '--out', out]
    proc = subprocess.run(
        [sys.executable, '-c', RUN_HIDDEN.format(hidden=HIDDEN, argv=argv)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    with open(out) as file:
        return file.read()


def table_rows(report: str, section: str) -> list:
    """The cells of the table rows of a report section."""
    body = report.split(f'## {section}', 1)[1].split('\n## ', 1)[0]
    rows = [line.strip('|').split('|') for line in body.splitlines()
            if line.startswith('| ') and not line.startswith('|---')]
    return [[cell.strip() for cell in row] for row in rows[1:]]


def test_quick_run_reports_every_section(quick_report):
    assert 'Verdict: **PASS**' in quick_report
    headings = re.findall(r'^## (.+)$', quick_report, re.M)
    for section in SECTIONS:
        assert any(h.startswith(section) for h in headings), headings
    assert 'Traceback' not in quick_report


def test_quick_parity_numbers_within_bounds(quick_report):
    rows = table_rows(quick_report, '1. Parity')
    seen = set()
    for output, precision, path, error, authors, bound, verdict in rows:
        error, authors, bound = float(error), float(authors), float(bound)
        assert math.isfinite(error) and error <= bound, (output, error)
        assert verdict == 'ok'
        if precision == 'fp32':  # the test suite's own bound
            assert bound == pytest.approx(5 * authors, rel=0.01)
        seen.add((output, precision, path))
    for precision, path in (('fp32', 'plain'), ('fp32', 'fused'),
                            ('bf16', 'fused')):
        assert ('tiny classifier logits', precision, path) in seen
        assert ('tiny backbone map 4', precision, path) in seen


def test_quick_timings_present(quick_report):
    backends = {row[0]: row for row in table_rows(quick_report,
                                                  '2. Attention backends')}
    assert backends['sdpa'][3] == 'ok' and backends['math'][3] == 'ok'
    from lemevit_mm.models.utils.attention import backend_installed
    for optional in ('flash', 'xformers'):
        if not backend_installed(optional):
            assert backends[optional][3] == 'not importable'
    # the img/s column of each timing table
    for section, column in (('3. CPU inference rewrites', 1),
                            ('4. Training step', 2),
                            ('5. Inference throughput', 1)):
        rows = table_rows(quick_report, section)
        assert rows, section
        assert all(float(row[column]) > 0 for row in rows), rows
    throughput = table_rows(quick_report, '5. Inference throughput')
    assert throughput[0][0] == 'LeMeViT-tiny' and throughput[0][3] == '5317'


def test_upernet_has_the_config_upernet_parameters():
    """The mmseg-free UperNet of the training step is the UperNet of
    configs/seg (same layers, so the same parameter count)."""
    from mmengine.config import Config

    from helpers import build_model
    expected = build_model(Config.fromfile(osp.join(
        REPO, 'configs', 'seg', 'lemevit_t_upernet_potsdam.py')))
    ours = check.UperNet('tiny', num_classes=5)

    def count(module):
        return sum(p.numel() for p in module.parameters())

    assert count(ours) == count(expected)
    assert count(ours.head) == count(expected.decode_head) + \
        count(expected.auxiliary_head)


def test_rewrites_switch():
    """Off, inference runs the plain layers (the autograd path's numbers
    exactly); on, it runs the rewrites (other rounding)."""
    from lemevit_mm.models import LeMeViT
    model = LeMeViT('tiny').eval()
    x = torch.randn(1, 3, 64, 64)
    plain = model(x)[-1].detach()
    with torch.no_grad():
        fused = model(x)[-1]
        with check.inference_rewrites(False):
            off = model(x)[-1]
        after = model(x)[-1]
    assert torch.equal(off, plain)
    assert not torch.equal(fused, plain)
    assert torch.equal(after, fused)  # switched back on


def test_bad_arguments(gpu_check, tmp_path, capsys):
    with pytest.raises(SystemExit):
        gpu_check.parse_args(['--out', str(tmp_path / 'report.txt')])
    assert '--out must end with .md' in capsys.readouterr().err
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            gpu_check.parse_args(['--out', 'r.md', '--device', 'cuda'])
        assert 'sees no CUDA device' in capsys.readouterr().err
