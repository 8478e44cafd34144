"""Archive inference end to end (``tools/infer.py`` over many scenes,
``tools/dist_infer.sh`` with torchrun on CPUs): sharding over processes,
a killed rank and ``--resume``, failing scenes, list files (``/vsizip/``,
a CSV of change pairs), COG / STAC / VRT outputs, the early argument
checks and the tile cut to the scene. The seeded-random tiny
segmentation model of the sample config, on small generated GeoTIFFs."""
import hashlib
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import rasterio
import torch
from mmengine.config import Config
from rasterio.transform import from_origin

from helpers import REPO, load_tool
from lemevit_mm.apis import build_model_from_config
from lemevit_mm.apis.archive import shard

SEG_CONFIG = osp.join(REPO, 'configs/seg/lemevit_t_upernet_potsdam_sample.py')
CD_CONFIG = osp.join(REPO, 'configs/cd/lemevit_t_bit_cdd.py')
UTM = 'EPSG:32633'
# (height, width) of the seven scenes: 1 or 2 tiles of 64 px (TILE)
SIZES = [(32, 32), (64, 64), (48, 80), (96, 64), (40, 40), (64, 128),
         (32, 96)]
TILE = ('--tile', 64, 64)

infer_tool = load_tool('tools/infer.py')


def write_scene(path, height, width, seed, count=3, x0=368000.,
                y0=5810000.):
    data = np.random.RandomState(seed).randint(
        0, 256, (count, height, width)).astype(np.uint8)
    with rasterio.open(path, 'w', driver='GTiff', width=width,
                       height=height, count=count, dtype='uint8', crs=UTM,
                       transform=from_origin(x0, y0, 0.5, 0.5)) as f:
        f.write(data)
    return str(path)


def digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp('ckpt')
    made = {}

    def make(config):
        if config not in made:
            torch.manual_seed(0)
            model = build_model_from_config(Config.fromfile(config))
            made[config] = str(folder / (osp.basename(config) + '.pth'))
            torch.save(dict(state_dict=model.state_dict(), meta={}),
                       made[config])
        return made[config]
    return make


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    folder = tmp_path_factory.mktemp('scenes')
    for index, (h, w) in enumerate(SIZES):
        # scattered over the map: the mosaic has gaps
        write_scene(folder / f'scene{index}.tif', h, w, index,
                    x0=368000. + 150 * index)
    return folder


@pytest.fixture(autouse=True)
def keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def infer(*args):
    """``tools/infer.py`` in this process; its exit code."""
    return infer_tool.main([str(a) for a in args])


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def torchrun(*args, procs=2):
    """``tools/dist_infer.sh`` with ``procs`` CPU processes (started, not
    waited for)."""
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()),
               OMP_NUM_THREADS='1')
    return subprocess.Popen(
        ['bash', 'tools/dist_infer.sh', args[0], args[1], str(procs),
         *[str(a) for a in args[2:]]], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def record(out):
    with open(osp.join(out, 'run.json')) as f:
        return json.load(f)


def events(out):
    with open(osp.join(out, 'run.jsonl')) as f:
        return [json.loads(line) for line in f]


def temp_files(folder):
    return [n for n in os.listdir(folder) if n.endswith('.tmp')]


@pytest.mark.slow  # two torchrun launches of two fresh interpreters each
def test_two_processes_equal_one_and_resume_after_a_kill(
        tmp_path, checkpoint, scenes):
    ckpt = checkpoint(SEG_CONFIG)
    single = tmp_path / 'single'
    assert infer(SEG_CONFIG, ckpt, scenes, '-o', single, '--threads', '1',
                 *TILE, '--quiet') == 0
    names = sorted(f'scene{i}.tif' for i in range(7))
    assert sorted(n for n in os.listdir(single) if n.endswith('.tif')) == \
        names

    # 2 processes: the same bytes, every scene once, balanced by pixels
    double = tmp_path / 'double'
    proc = torchrun(SEG_CONFIG, ckpt, scenes, '-o', double, '--threads',
                    '1', *TILE)
    log = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, log[-4000:]
    for name in names:
        assert digest(single / name) == digest(double / name), name
    merged = record(double)
    assert merged['summary'] == dict(scenes=7, ok=7)
    run = merged['runs'][-1]
    assert run['world_size'] == 2 and len(run['checkpoint_sha256']) == 64
    assert run['versions']['torch'] == torch.__version__
    done = [e for e in events(double) if e['event'] == 'scene']
    assert sorted(e['key'] for e in done) == names  # exactly once each
    expected = shard([h * w for h, w in SIZES], 2)
    by_rank = {r: sorted(e['key'] for e in done if e['rank'] == r)
               for r in (0, 1)}
    assert by_rank == {r: sorted(f'scene{i}.tif' for i in expected[r])
                       for r in (0, 1)}
    assert '[rank 1/2]' in log and '[archive]' in log

    # kill rank 1 with SIGKILL after its first scene, then --resume
    killed = tmp_path / 'killed'
    proc = torchrun(SEG_CONFIG, ckpt, scenes, '-o', killed, '--threads',
                    '1', *TILE, '--quiet')
    rank1 = killed / '.run.rank1.jsonl'
    deadline = time.time() + 240
    pid = None
    while time.time() < deadline and proc.poll() is None:
        if rank1.exists():
            lines = [json.loads(line) for line in rank1.read_text()
                     .splitlines() if line.endswith('}')]
            finished = [e for e in lines if e['event'] == 'scene']
            if finished:
                pid = finished[0]['pid']
                os.kill(pid, signal.SIGKILL)
                break
        time.sleep(0.02)
    assert pid is not None, 'rank 1 finished no scene'
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert not osp.exists(killed / 'run.json')  # never merged
    # a temporary file as a SIGKILL mid-write leaves it
    stale = killed / f'.scene0.tif.{"0" * 32}.tmp'
    stale.write_bytes(b'half a GeoTIFF')
    finished = {}
    for path in killed.glob('.run.rank*.jsonl'):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event.get('event') == 'scene' and event['status'] == 'ok':
                finished[event['key']] = (
                    os.stat(killed / event['key']).st_mtime_ns,
                    digest(killed / event['key']))
    assert 0 < len(finished) < 7
    # without --resume the outputs are refused
    assert infer(SEG_CONFIG, ckpt, scenes, '-o', killed, '--quiet') == 2
    assert infer(SEG_CONFIG, ckpt, scenes, '-o', killed, '--threads', '1',
                 *TILE, '--resume', '--quiet') == 0
    for key, (mtime, sha) in finished.items():
        assert os.stat(killed / key).st_mtime_ns == mtime, key
        assert digest(killed / key) == sha
    for name in names:
        assert digest(killed / name) == digest(single / name), name
    assert not temp_files(killed)
    merged = record(killed)
    assert merged['summary'] == dict(scenes=7, ok=7)
    assert len(merged['runs']) == 2
    redone = [e['key'] for e in events(killed) if e['event'] == 'scene' and
              e['run'] == merged['runs'][1]['run']]
    assert sorted(redone) == sorted(set(names) - set(finished))


def test_failing_scenes_are_recorded_and_the_others_done(
        tmp_path, checkpoint, scenes, capsys):
    folder = tmp_path / 'in'
    folder.mkdir()
    for index in (0, 4):
        os.link(scenes / f'scene{index}.tif', folder / f'scene{index}.tif')
    (folder / 'broken.tif').write_bytes(b'II*\x00 not really a tiff')
    write_scene(folder / 'oneband.tif', 40, 40, 9, count=1)
    out = tmp_path / 'out'
    code = infer(SEG_CONFIG, checkpoint(SEG_CONFIG), folder, '-o', out,
                 *TILE)
    assert code == 1
    states = {s['key']: s for s in record(out)['scenes']}
    assert states['broken.tif']['status'] == 'failed'
    assert 'broken.tif' in states['broken.tif']['reason']
    assert states['oneband.tif']['status'] == 'failed'
    assert '1 band(s)' in states['oneband.tif']['reason']
    assert states['scene0.tif']['status'] == 'ok'
    assert states['scene4.tif']['status'] == 'ok'
    with rasterio.open(out / 'scene4.tif') as f:
        assert (f.height, f.width) == SIZES[4]
    assert not osp.exists(out / 'broken.tif') and not temp_files(out)
    err = capsys.readouterr().err
    assert 'FAILED' in err and 'broken.tif' in err and 'oneband.tif' in err


def test_list_file_with_a_vsizip_path(tmp_path, checkpoint, scenes):
    with zipfile.ZipFile(tmp_path / 'archive.zip', 'w') as zf:
        zf.write(scenes / 'scene1.tif', 'tiles/zipped.tif')
    listing = tmp_path / 'scenes.txt'
    listing.write_text(f'# two scenes\n{scenes / "scene0.tif"}\n'
                       f'/vsizip/{tmp_path}/archive.zip/tiles/zipped.tif\n')
    out = tmp_path / 'out'
    assert infer(SEG_CONFIG, checkpoint(SEG_CONFIG), listing, '-o', out,
                 *TILE, '--quiet') == 0
    with rasterio.open(out / 'zipped.tif') as f, \
            rasterio.open(scenes / 'scene1.tif') as source:
        assert (f.height, f.width) == SIZES[1]
        assert f.transform == source.transform and f.crs == source.crs
    assert [s['inputs'][0] for s in record(out)['scenes']][1].startswith(
        '/vsizip/')


def test_csv_pairs_for_change_detection(tmp_path, checkpoint):
    rows = ['path,path_b']
    for index, (h, w) in enumerate([(64, 64), (40, 64)]):
        a = write_scene(tmp_path / f'a{index}.tif', h, w, index)
        b = write_scene(tmp_path / f'b{index}.tif', h, w, index + 10)
        rows.append(f'{a},{b}')
    # a pair on different grids fails alone
    write_scene(tmp_path / 'c_a.tif', 32, 32, 1)
    write_scene(tmp_path / 'c_b.tif', 32, 40, 2)
    rows.append(f'{tmp_path / "c_a.tif"},{tmp_path / "c_b.tif"}')
    listing = tmp_path / 'pairs.csv'
    listing.write_text('\n'.join(rows) + '\n')
    out = tmp_path / 'change'
    assert infer(CD_CONFIG, checkpoint(CD_CONFIG), listing, '-o', out,
                 *TILE, '--quiet') == 1
    states = {s['key']: s for s in record(out)['scenes']}
    assert states['a0.tif']['status'] == 'ok'
    assert states['a0.tif']['inputs'][1].endswith('b0.tif')
    assert 'not co-registered' in states['c_a.tif']['reason']
    with rasterio.open(out / 'a1.tif') as f:
        assert (f.height, f.width) == (40, 64)
        assert set(np.unique(f.read(1))) <= {0, 1}


def test_cog_stac_and_mosaic(tmp_path, checkpoint, scenes):
    folder = tmp_path / 'in'
    folder.mkdir()
    for index in (0, 2, 4):
        os.link(scenes / f'scene{index}.tif', folder / f'scene{index}.tif')
    out = tmp_path / 'out'
    assert infer(SEG_CONFIG, checkpoint(SEG_CONFIG), folder, '-o', out,
                 *TILE, '--probs', '--cog', '--stac', '--mosaic',
                 '--quiet') == 0
    from rio_cogeo.cogeo import cog_validate
    for index in (0, 2, 4):
        for name in (f'scene{index}.tif', f'scene{index}_probs.tif'):
            valid, errors, _ = cog_validate(str(out / name), quiet=True)
            assert valid, (name, errors)
        item = json.load(open(out / f'scene{index}.stac.json'))
        assert item['assets']['classes']['href'] == f'scene{index}.tif'
        assert item['assets']['probabilities']['roles'] == ['data']
        classes = item['assets']['classes']['classification:classes']
        assert classes[0]['description'] == 'impervious_surface'
    collection = json.load(open(out / 'collection.json'))
    assert len([link for link in collection['links']
                if link['rel'] == 'item']) == 3
    bounds = []
    for index in (0, 2, 4):
        with rasterio.open(out / f'scene{index}.tif') as f:
            bounds.append(f.bounds)
    with rasterio.open(out / 'mosaic.vrt') as vrt:
        assert tuple(vrt.bounds) == (
            min(b.left for b in bounds), min(b.bottom for b in bounds),
            max(b.right for b in bounds), max(b.top for b in bounds))
        with rasterio.open(out / 'scene2.tif') as f:
            row, col = vrt.index(f.bounds.left + 0.01, f.bounds.top - 0.01)
            np.testing.assert_array_equal(
                vrt.read(1)[row:row + f.height, col:col + f.width],
                f.read(1))
    with rasterio.open(out / 'mosaic_probs.vrt') as vrt, \
            rasterio.open(out / 'scene0_probs.tif') as f:
        assert vrt.count == f.count == 5  # the sample's classes
        assert vrt.descriptions == f.descriptions


def test_missing_checkpoint_is_reported_before_torch_is_imported(
        tmp_path, scenes):
    script = (
        'import runpy, sys\n'
        f'sys.argv = ["tools/infer.py", {SEG_CONFIG!r}, "missing.pth", '
        f'{str(scenes)!r}, "-o", {str(tmp_path / "out")!r}]\n'
        'try:\n'
        '    runpy.run_path("tools/infer.py", run_name="__main__")\n'
        'except SystemExit as exit:\n'
        '    print("exit", exit.code, "torch" in sys.modules,\n'
        '          "mmengine" in sys.modules)\n')
    proc = subprocess.run([sys.executable, '-c', script], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert 'exit 2 False False' in proc.stdout, proc.stdout + proc.stderr
    assert 'missing.pth: no such checkpoint file' in proc.stderr
