"""ONNX export with dynamic batch and size, checked with onnxruntime."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

from helpers import REPO, load_tool
from lemevit_mm.deploy import export as deploy_export

export_onnx = load_tool('tools/deployment/export_onnx.py')

pytest.importorskip('onnxruntime')


@pytest.mark.trained_weights
def test_backbone_export_dynamic_sizes(tmp_path, official_tiny,
                                      reference_io, capsys):
    """The authors' weights make a frozen softmax scale visible: the second
    size and batch would be off by ~1 if log(M)/log(N) were a constant.
    (The seeded weights give maps of a larger magnitude: their float32
    rounding bound applies.)"""
    out = tmp_path / 'lemevit_t.onnx'
    atol = max(1e-4, *reference_io['dense_tol'])
    export_onnx.main(['lemevit-t-backbone', '--checkpoint', official_tiny,
                      '--out', str(out), '--input-size', '64',
                      '--verify-size', '3', '96', '160',
                      '--atol', str(atol)])
    stdout = capsys.readouterr().out
    assert 'out0, out1, out2, out3' in stdout
    assert '(3, 96, 160)' in stdout
    import onnx
    graph = onnx.load(str(out)).graph
    assert {n.op_type for n in graph.node} >= {'Log', 'Softmax', 'Conv'}
    dims = graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param != '' for d in dims] == [True, False, True, True]


@pytest.mark.trained_weights
def test_classifier_export_matches_reference(tmp_path, official_tiny,
                                             reference_io):
    config = osp.join(REPO, 'configs', 'cls', 'lemevit_t_in1k.py')
    model = deploy_export.build_exportable(config, official_tiny)
    with torch.no_grad():
        logits, = model(reference_io['cls_input'])
    error = (logits - reference_io['cls_logits']).abs().max()
    assert error < reference_io['cls_tol']
    out = str(tmp_path / 'cls.onnx')
    assert deploy_export.export(model, out, (64, 64)) == ['out0']
    errors = deploy_export.verify(model, out, [(1, 64, 64), (2, 96, 128)])
    assert max(errors) < 1e-4
    # the check has teeth: another model's outputs are far off
    other = deploy_export.build_exportable(config)
    with pytest.raises(AssertionError, match='differs from PyTorch'):
        deploy_export.verify(other, out, [(1, 64, 64)])


def test_export_errors(tmp_path):
    result = subprocess.run(
        [sys.executable, 'tools/deployment/export_onnx.py',
         'lemevit-t-backbone', '--out', str(tmp_path / 'x.pt')],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0
    assert '--out must end with .onnx' in result.stderr
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        deploy_export.build_exportable('lemevit-t-backbone',
                                     str(tmp_path / 'nothing.pth'))
