"""Change detection end to end: train, keep the best-F1 checkpoint, test
and draw, through tools/train.py and tools/test.py on synthetic CDD."""
import glob
import os.path as osp

import cv2
from mmengine.config import Config

from lemevit_mm.testing.cd import make_synthetic_cd

from helpers import REPO, run_tool

CONFIG = osp.join(REPO, 'configs', 'cd', 'lemevit_t_bit_cdd.py')
SIZE = 64


def small_config(tmp_path, data_root: str) -> str:
    """The tiny CDD config at 64x64, batch 2, 2 epochs, no workers."""
    cfg = Config.fromfile(CONFIG)
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'RandomResize':
            step['scale'] = (SIZE, SIZE)
        if step['type'] == 'RandomCrop':
            step['crop_size'] = (SIZE, SIZE)
    cfg.model.data_preprocessor.size = (SIZE, SIZE)
    cfg.train_dataloader.batch_size = 2
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
        cfg[loader].dataset.data_root = data_root
    cfg.train_cfg.max_epochs = 2
    cfg.param_scheduler[0].end = 2
    cfg.default_hooks.logger.interval = 1
    path = str(tmp_path / 'cd_small.py')
    cfg.dump(path)
    return path


def test_train_then_test_with_pictures(tmp_path):
    data_root = make_synthetic_cd(str(tmp_path / 'cdd'),
                                  dict(train=2, val=1, test=2), size=SIZE)
    config = small_config(tmp_path, data_root)
    work_dir = str(tmp_path / 'work')
    log = run_tool('tools/train.py', config, '--work-dir', work_dir)
    assert 'Epoch(val) [2][1/1]' in log
    best = glob.glob(osp.join(work_dir, 'best_F1_epoch_*.pth'))
    assert len(best) == 1, log[-3000:]

    show_dir = str(tmp_path / 'vis')
    log = run_tool('tools/test.py', config, best[0], '--work-dir',
                   work_dir, '--show-dir', show_dir)
    assert 'Epoch(test) [2/2]' in log
    line = next(line for line in log.splitlines()
                if 'change detection ("changed" class)' in line)
    scores = dict(part.strip().split(' ') for part in
                  line.split('class): ')[1].split(','))
    assert set(scores) == {'precision', 'recall', 'F1', 'IoU', 'OA'}
    assert all(0 <= float(v) <= 100 for v in scores.values())
    assert float(scores['OA']) > 0

    pictures = sorted(glob.glob(osp.join(show_dir, '**', '*.png'),
                                recursive=True))
    assert len(pictures) == 2, pictures
    picture = cv2.imread(pictures[0])
    # date A | date B | truth | prediction, 4-pixel grey gaps
    assert picture.shape == (SIZE, 4 * SIZE + 3 * 4, 3)
    date_a = cv2.imread(osp.join(data_root, 'test', 'A', '00000.jpg'))
    assert abs(picture[:, :SIZE].astype(int) - date_a).mean() < 1
    truth = picture[:, 2 * SIZE + 8:3 * SIZE + 8]
    label = cv2.imread(osp.join(data_root, 'test', 'OUT', '00000.jpg'), 0)
    assert ((truth[..., 0] > 127) == (label >= 128)).all()
