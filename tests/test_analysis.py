"""Analysis tools: benchmark table, FLOPs counter, meta-token attention
maps. No timing asserts: speed claims live in the benchmark itself."""
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from lemevit_mm.analysis import flops, model_specs
from lemevit_mm.analysis import meta_attention as vis

from helpers import REPO, load_tool

benchmark = load_tool('tools/analysis_tools/benchmark.py')
get_flops = load_tool('tools/analysis_tools/get_flops.py')
vis_tool = load_tool('tools/analysis_tools/visualize_meta_attention.py')

ROW = re.compile(r'^\| (.+?) \| (fp32|bf16 autocast) \| (\d+\.\d+) \| '
                 r'(\d+\.\d\d) \| (\d+|-) \|$')


def table_rows(text: str) -> list:
    lines = text.strip().splitlines()
    assert lines[0].startswith('<!-- ') and 'threads' in lines[0]
    assert lines[2] == \
        '| model | precision | img/s | ratio | peak memory (MB) |'
    rows = [ROW.match(line) for line in lines[4:]]
    assert all(rows), lines[4:]
    return rows


def test_benchmark_inference_table(tmp_path):
    text = benchmark.main([
        'lemevit-t-backbone', "LeMeViT(arch='tiny', out_indices=(4,))@amp",
        '--batch-size', '1', '--input-size', '64', '96', '--rounds', '1',
        '--iters', '1', '--warmup', '1', '--threads', '1',
        '--work-dir', str(tmp_path)])
    rows = table_rows(text)
    assert [r.group(1) for r in rows] == [
        'lemevit-t-backbone', "LeMeViT(arch='tiny', out_indices=(4,))"]
    assert [r.group(2) for r in rows] == ['fp32', 'bf16 autocast']
    assert rows[0].group(4) == '1.00'
    assert all(float(r.group(3)) > 0 for r in rows)
    assert '64x96' in text and 'bf16: ' in text
    assert (tmp_path / 'benchmark.md').read_text() == text


def test_benchmark_training_step_of_a_config(tmp_path):
    config = osp.join(REPO, 'configs', 'cls', 'lemevit_t_in1k.py')
    text = benchmark.main([
        config, '--train', '--batch-size', '2', '--input-size', '64',
        '--rounds', '1', '--iters', '1', '--warmup', '1',
        '--work-dir', str(tmp_path)])
    rows = table_rows(text)
    assert rows[0].group(1) == f'{config} (train)'
    assert rows[0].group(5) != '-'


def test_benchmark_cli_errors(capsys):
    result = subprocess.run(
        [sys.executable, 'tools/analysis_tools/benchmark.py', 'swin-t',
         '--train'], cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0
    assert '--train needs config files' in result.stderr
    config = 'configs/seg/lemevit_t_upernet_potsdam.py'
    with pytest.raises(SystemExit):
        benchmark.parse_args([config, '--train', '--batch-size', '1'])
    assert '--batch-size >= 2' in capsys.readouterr().err
    with pytest.raises(ValueError, match='keyword arguments only'):
        model_specs.parse_call_spec("LeMeViT('tiny')")
    with pytest.raises(ValueError, match='must be a literal'):
        model_specs.parse_call_spec('LeMeViT(arch=tiny)')


def test_synthetic_batches_for_each_task():
    from mmengine.config import Config
    import lemevit_mm  # noqa: F401
    for scope, field in [('mmseg', 'gt_sem_seg'),
                         ('mmrotate', 'gt_instances')]:
        samples = model_specs.make_data_samples(
            Config(dict(default_scope=scope)), torch.nn.Module(), 2,
            (64, 80))
        assert len(samples) == 2 and field in samples[0]
        assert samples[0].img_shape == (64, 80)
    rotated = samples[0].gt_instances.bboxes
    assert type(rotated).__name__ == 'RotatedBoxes'


def attention_macs(arch: str, size: int) -> int:
    """Analytic MACs of LeMeViT's attention matrix products (q k^T and
    attn v) at a square input, meta tokens included."""
    from lemevit_mm.models import LeMeViT
    model = LeMeViT(arch)
    meta = model.meta_tokens.shape[0]
    side = -(-size // 4)
    total = 0
    for i, (dim, depth, kind) in enumerate(
            zip(model.embed_dims, model.depths, model.attn_types)):
        if i >= 2:
            side = -(-side // 2)
        tokens = side * side
        per_block = {'C': 2 * meta * tokens, 'D': 4 * meta * tokens,
                     'S': 2 * (tokens * tokens + meta * meta)}[kind]
        total += depth * per_block * dim
    return total


def test_flops_count_attention_products_exactly():
    result = flops.measure('lemevit-t', (224, 224))
    assert result.params == 8_635_816
    assert result.attn_macs == attention_macs('tiny', 224)
    # linear layers and convolutions come on top; published 1.68 G is a
    # count without the attention products
    assert 1.90e9 < result.macs < 2.0e9


def test_flops_paper_table_for_classifiers(tmp_path):
    text = get_flops.main(['--paper', '--only', 'cls/lemevit_t_in1k',
                           '--work-dir', str(tmp_path)])
    rows = [line for line in text.splitlines()
            if line.startswith('| configs/')]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip('|').split('|')]
    assert cells[:5] == ['configs/cls/lemevit_t_in1k.py', '224x224',
                         '8.64', '8.64', '-0.0%']
    assert (tmp_path / 'flops.md').read_text() == text


@pytest.mark.parametrize('arch,count', [('s', 16_400_456),
                                        ('b', 53_098_152)])
def test_classifier_config_parameter_counts(arch, count):
    from mmengine.registry import MODELS
    config = osp.join(REPO, 'configs', 'cls', f'lemevit_{arch}_in1k.py')
    model_cfg, _ = model_specs.build_model_cfg(config)
    assert flops.count_parameters(MODELS.build(model_cfg)) == count


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / 'images'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, shape in enumerate([(70, 90, 3), (64, 64, 3)]):
        cv2.imwrite(str(folder / f'{i}.png'),
                    rng.integers(0, 255, shape, dtype=np.uint8))
    (folder / 'notes.txt').write_text('not an image')
    return folder


def test_meta_attention_png_without_checkpoint(tmp_path, image_folder):
    out = tmp_path / 'grid.png'
    shape = vis_tool.main([str(image_folder), '--tokens', '0', '5', '15',
                      '--layers', 'stages.0.blocks.0', 'stages.2.blocks.1',
                      '--input-size', '64', '--out', str(out)])
    image = cv2.imread(str(out))
    # rows: 2 images x 2 layers; columns: input + 3 tokens
    assert image.shape == (4 * 64, 4 * 64, 3) == (*shape, 3)
    # the input cell is the image itself, the heat maps differ from it
    first = cv2.resize(cv2.imread(str(image_folder / '0.png')), (64, 64),
                       interpolation=cv2.INTER_CUBIC)
    assert np.abs(image[:64, :64].astype(int) - first).max() <= 1
    assert np.abs(image[:64, 64:128].astype(int) - first).mean() > 10


def test_meta_attention_maps_are_distributions():
    from lemevit_mm.models import LeMeViT
    model = LeMeViT('tiny', out_indices=(4, ), out_meta_tokens=True).eval()
    maps = vis.meta_attention_maps(model, torch.randn(2, 3, 64, 96),
                                   ['stages.1.blocks.0', 'stages.2.blocks.1'])
    assert maps['stages.1.blocks.0'].shape == (2, 16, 16, 24)
    assert maps['stages.2.blocks.1'].shape == (2, 16, 8, 12)
    for attn in maps.values():
        torch.testing.assert_close(attn.sum((2, 3)), torch.ones(2, 16))


def test_meta_attention_errors(tmp_path, image_folder):
    with pytest.raises(ValueError, match='not C/D blocks'):
        vis_tool.main([str(image_folder), '--layers', 'stages.3.blocks.0',
                  '--out', str(tmp_path / 'x.png')])
    with pytest.raises(ValueError, match='out of range'):
        vis_tool.main([str(image_folder), '--tokens', '16',
                  '--out', str(tmp_path / 'x.png')])
    with pytest.raises(FileNotFoundError, match='missing.png'):
        vis_tool.main([str(tmp_path / 'missing.png')])
