"""Multispectral and 16-bit input: loaders, preprocessors, band statistics,
synthetic samples, converters, configs and their errors (issue 12)."""
import glob
import os.path as osp
import re
import zipfile

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import TRANSFORMS, init_default_scope
from mmengine.structures import BaseDataElement

import lemevit_mm  # noqa: F401  (registers the transforms and models)
from lemevit_mm.datasets import (IgnoreNodataLabels,
                                 LoadMultiBandImageFromFile,
                                 LoadMultiBandImagePairFromFile)
from lemevit_mm.raster import RasterError, read_image
from lemevit_mm.testing.rasters import write_tiff
from lemevit_mm.testing.seg import (BAND_LAYOUTS, isprs_archive_member,
                                    make_potsdam_sample,
                                    make_vaihingen_sample,
                                    render_sample_tiles, tile_bands,
                                    write_isprs_archives,
                                    write_vaihingen_archives)
from lemevit_mm.testing.sentinel2 import NODATA, make_sentinel2_sample

from helpers import REPO, load_config, load_tool, model_index_parsed_once

SEG_CONFIGS = osp.join(REPO, 'configs', 'seg')
RGBIR = osp.join(SEG_CONFIGS, 'lemevit_t_upernet_potsdam-rgbir.py')
RGBIR_DSM = osp.join(SEG_CONFIGS, 'lemevit_t_upernet_potsdam-rgbir-dsm.py')
VAIHINGEN = osp.join(SEG_CONFIGS, 'lemevit_t_upernet_vaihingen.py')
SENTINEL2 = osp.join(SEG_CONFIGS,
                     'lemevit_t_upernet_sentinel2-13band_sample.py')


@pytest.fixture(scope='module', autouse=True)
def _fast_config_parsing():
    """Parse each package's model index once (see tests/helpers.py)."""
    with model_index_parsed_once():
        yield


def uint16_raster(path, bands=5, size=(20, 24), nodata=None, seed=0):
    """A random uint16 raster (values above 255) and its array."""
    rng = np.random.default_rng(seed)
    data = rng.integers(1, 60000, (*size, bands)).astype(np.uint16)
    write_tiff(str(path), data, origin=(500000, 5400000), pixel_size=10,
               nodata=nodata)
    return data


def seg_preprocessor(**kwargs):
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    return MODELS.build(dict(type='MultiBandSegDataPreProcessor', **kwargs))


def batch(*images, paths=None):
    """A raw batch as the dataloader gives it (``(C, H, W)`` tensors)."""
    paths = paths or [f'img{i}.tif' for i in range(len(images))]
    samples = []
    for image, path in zip(images, paths):
        sample = BaseDataElement(metainfo=dict(img_path=path))
        samples.append(sample)
    return dict(inputs=[torch.from_numpy(
        np.ascontiguousarray(image.transpose(2, 0, 1))) for image in images],
        data_samples=samples)


# --------------------------------------------------------------- loaders
def test_loader_keeps_uint16_and_selects_bands_in_order(tmp_path):
    path = tmp_path / 'scene.tif'
    data = uint16_raster(path)
    loader = TRANSFORMS.build(
        dict(type='LoadMultiBandImageFromFile', bands=(4, 1, 2)))
    results = loader(dict(img_path=str(path)))
    assert results['img'].dtype == np.uint16
    np.testing.assert_array_equal(results['img'], data[..., [3, 0, 1]])
    assert results['img_shape'] == results['ori_shape'] == (20, 24)
    assert 'valid_mask' not in results  # no nodata in this raster
    every = LoadMultiBandImageFromFile(to_float32=True)(
        dict(img_path=str(path)))['img']
    assert every.dtype == np.float32 and every.shape == (20, 24, 5)
    np.testing.assert_array_equal(every, data.astype(np.float32))


def test_loader_reads_rgb_files_in_rgb_order(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200  # red
    cv2.imwrite(str(tmp_path / 'red.png'), rgb[..., ::-1])
    image = LoadMultiBandImageFromFile()(
        dict(img_path=str(tmp_path / 'red.png')))['img']
    np.testing.assert_array_equal(image, rgb)


def test_nodata_pixels_get_the_ignore_label(tmp_path):
    """Pixels that are nodata in every band: image set to nodata_fill,
    label to 255; a pixel nodata in one band only keeps its data."""
    path = tmp_path / 'edge.tif'
    data = np.full((16, 16, 3), 900, np.uint16)
    data[:4] = 0  # a swath edge: nodata in every band
    data[10, 10, 1] = 0  # one band only: still valid
    write_tiff(str(path), data, nodata=0)
    label = np.ones((16, 16), np.uint8) * 2
    cv2.imwrite(str(tmp_path / 'edge.png'), label)
    pipeline = [TRANSFORMS.build(step) for step in (
        dict(type='LoadMultiBandImageFromFile', nodata_fill=7),
        dict(type='mmseg.LoadAnnotations', reduce_zero_label=False),
        dict(type='IgnoreNodataLabels'))]
    results = dict(img_path=str(path),
                   seg_map_path=str(tmp_path / 'edge.png'), seg_fields=[],
                   reduce_zero_label=False)
    for step in pipeline:
        results = step(results)
    assert (results['gt_seg_map'][:4] == 255).all()
    assert (results['gt_seg_map'][4:] == 2).all()
    assert (results['img'][:4] == 7).all()
    assert results['img'][10, 10, 1] == 0 and results['img'][10, 10, 0] \
        == 900
    assert 'valid_mask' not in results  # consumed


def test_ignore_nodata_labels_before_the_labels_is_an_error(tmp_path):
    with pytest.raises(KeyError, match='after LoadAnnotations'):
        IgnoreNodataLabels()(dict(img_path='x.tif'))
    results = dict(img_path='x.tif', seg_map_path='x.png',
                   gt_seg_map=np.zeros((4, 4), np.uint8),
                   valid_mask=np.ones((8, 8), bool))
    with pytest.raises(ValueError, match='x.png.*4x4.*8x8.*right after'):
        IgnoreNodataLabels()(results)


def test_pair_loader_gives_both_dates_and_their_common_nodata(tmp_path):
    a = uint16_raster(tmp_path / 'a.tif', bands=4, seed=1)
    b = uint16_raster(tmp_path / 'b.tif', bands=4, seed=2)
    b[0, :] = 0
    write_tiff(str(tmp_path / 'b.tif'), b, origin=(500000, 5400000),
               pixel_size=10, nodata=0)
    loader = LoadMultiBandImagePairFromFile(bands=(1, 2, 3, 4))
    results = loader(dict(img_path=str(tmp_path / 'a.tif'),
                          img_path2=str(tmp_path / 'b.tif')))
    np.testing.assert_array_equal(results['img'][1:], a[1:])
    np.testing.assert_array_equal(results['img2'][1:], b[1:])
    assert (results['img'][0] == 0).all()  # nodata in date B: filled
    assert results['valid_mask'][0].sum() == 0
    assert results['valid_mask'][1:].all()
    concat = TRANSFORMS.build(dict(type='mmseg.ConcatCDInput'))
    assert concat(results)['img'].shape == (20, 24, 8)

    # Dates on different grids: an error naming both files.
    write_tiff(str(tmp_path / 'c.tif'), b[:, :20], origin=(500000, 5400000),
               pixel_size=10)
    with pytest.raises(RasterError, match=r'a\.tif and .*c\.tif.*24x20'):
        loader(dict(img_path=str(tmp_path / 'a.tif'),
                    img_path2=str(tmp_path / 'c.tif')))


def test_band_out_of_range_names_file_bands_and_config_key(tmp_path):
    path = tmp_path / 'rgbir.tif'
    uint16_raster(path, bands=4)
    loader = LoadMultiBandImageFromFile(bands=(1, 2, 3, 4, 5))
    with pytest.raises(RasterError, match=re.escape(str(path)) +
                       r'.*\[5\] out of range.*4 band.*'
                       r'LoadMultiBandImageFromFile\(bands=\(1, 2, 3, 4, 5'):
        loader(dict(img_path=str(path)))
    for bad in ((0, 1, 2), (1.5, ), (), ('1', )):
        with pytest.raises(ValueError, match='1-based'):
            LoadMultiBandImageFromFile(bands=bad)


# --------------------------------------------------------- preprocessors
def test_seg_preprocessor_normalises_13_uint16_bands(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 12000, (8, 10, 13)).astype(np.uint16)
    mean = rng.uniform(500, 3000, 13)
    std = rng.uniform(100, 900, 13)
    pre = seg_preprocessor(mean=mean.tolist(), std=std.tolist(),
                           max_value=65535, bgr_to_rgb=False)
    out = pre(batch(image, image), training=False)['inputs']
    expected = (image.transpose(2, 0, 1) - mean[:, None, None]) / \
        std[:, None, None]
    assert out.shape == (2, 13, 8, 10)
    torch.testing.assert_close(out[1], torch.from_numpy(expected).float())


def test_det_and_cls_preprocessors_take_n_bands():
    from mmengine.registry import MODELS
    image = np.arange(4 * 6 * 5, dtype=np.uint8).reshape(6, 5, 4)
    mean, std = [1., 2., 3., 4.], [2., 2., 4., 4.]
    expected = torch.from_numpy(
        (image.transpose(2, 0, 1) - np.array(mean)[:, None, None])
        / np.array(std)[:, None, None]).float()
    det = MODELS.build(dict(type='MultiBandDetDataPreprocessor', mean=mean,
                            std=std, pad_size_divisor=8))
    out = det(batch(image))['inputs']
    assert out.shape == (1, 4, 8, 8)  # padded to 8
    torch.testing.assert_close(out[0, :, :6, :5], expected)
    cls = MODELS.build(dict(type='MultiBandClsDataPreprocessor', mean=mean,
                            std=std))
    stacked = dict(inputs=torch.from_numpy(
        image.transpose(2, 0, 1).copy())[None], data_samples=None)
    torch.testing.assert_close(cls(stacked)['inputs'][0], expected)


def test_wrong_number_of_means_names_file_key_and_numbers():
    pre = seg_preprocessor(mean=[1, 2, 3, 4], std=[1, 1, 1, 1])
    image = np.zeros((8, 8, 5), np.uint8)
    with pytest.raises(ValueError, match=r'tile\.tif has 5 band\(s\) but '
                       r'model\.data_preprocessor\.mean and \.std have 4 '
                       'values'):
        pre(batch(image, paths=['tile.tif']))
    with pytest.raises(ValueError, match=r'mean has 4 values and '
                       r'model\.data_preprocessor\.std has 3'):
        seg_preprocessor(mean=[1, 2, 3, 4], std=[1, 1, 1])
    with pytest.raises(ValueError, match='std must be positive'):
        seg_preprocessor(mean=[1], std=[0])


def test_uint16_data_with_uint8_normalisation_is_refused():
    pre = seg_preprocessor(mean=[120.] * 4, std=[60.] * 4)  # 8-bit stats
    image = np.full((8, 8, 4), 100, np.uint16)
    pre(batch(image))  # values up to 255 pass
    image[3, 3, 2] = 4095
    with pytest.raises(ValueError, match=r's2\.tif holds values up to 4095 '
                       r'\(torch\.uint16\) but model\.data_preprocessor\.'
                       'max_value is 255.*8-bit.*band_stats'):
        pre(batch(image, paths=['s2.tif']))
    relaxed = seg_preprocessor(mean=[120.] * 4, std=[60.] * 4,
                               max_value=65535)
    assert relaxed(batch(image))['inputs'].shape == (1, 4, 8, 8)


def test_bgr_swap_of_a_4_band_input_is_refused():
    from mmengine.registry import MODELS
    image = np.zeros((8, 8, 4), np.uint8)
    for pre in (seg_preprocessor(mean=[0] * 4, std=[1] * 4,
                                 bgr_to_rgb=True),
                MODELS.build(dict(type='MultiBandDetDataPreprocessor',
                                  mean=[0] * 4, std=[1] * 4,
                                  bgr_to_rgb=True))):
        with pytest.raises(ValueError, match='bgr_to_rgb=False'):
            pre(batch(image))


def test_change_detection_configs_use_the_band_checked_preprocessor():
    cfg = load_config(osp.join(REPO, 'configs', 'cd', 'lemevit_t_bit_cdd.py'))
    pre = cfg.model.data_preprocessor
    assert pre.type == 'MultiBandSegDataPreProcessor'
    assert len(pre.mean) == len(pre.std) == 6


# ------------------------------------------------------ band statistics
def valid_pixels(paths):
    """Every valid pixel of ``paths`` as an ``(n, C)`` float64 array."""
    pixels = []
    for path in paths:
        image = read_image(path).astype(np.float64)
        valid = (image != NODATA).any(axis=-1)
        pixels.append(image[valid])
    return np.concatenate(pixels)


def test_band_stats_streams_to_the_numpy_statistics(tmp_path, capsys):
    root = str(tmp_path / 's2')
    make_sentinel2_sample(root, num_train=4, num_val=1, size=40)
    tool = load_tool('tools/analysis_tools/band_stats.py')
    train = osp.join(root, 'img_dir', 'train')
    paths = sorted(glob.glob(osp.join(train, '*.tif')))
    pixels = valid_pixels(paths)
    # 17-pixel windows: partial windows at every edge, nodata skipped.
    result = tool.main([train, '--window', '17'])
    assert result['pixels'] == len(pixels) < 4 * 40 * 40
    assert result['nodata'] == 4 * 40 * 40 - len(pixels)
    np.testing.assert_allclose(result['mean'], pixels.mean(0), rtol=1e-12)
    np.testing.assert_allclose(result['std'], pixels.std(0), rtol=1e-10)
    sub = tool.main([train, '--bands', '4', '8'])
    np.testing.assert_allclose(sub['mean'], pixels.mean(0)[[3, 7]],
                               rtol=1e-12)

    # The printed lines are what a config takes.
    capsys.readouterr()
    tool.main([train])
    log = capsys.readouterr().out
    mean = re.search(r'^mean=\[(.*)\]$', log, re.M).group(1)
    std = re.search(r'^std=\[(.*)\]$', log, re.M).group(1)
    np.testing.assert_allclose(eval(f'[{mean}]'), pixels.mean(0),
                               atol=1e-4)
    np.testing.assert_allclose(eval(f'[{std}]'), pixels.std(0), atol=1e-4)


def test_band_stats_of_a_config_and_its_errors(tmp_path):
    root = str(tmp_path / 's2')
    make_sentinel2_sample(root, num_train=2, num_val=1, size=32)
    config = tmp_path / 'cfg.py'
    config.write_text(f'_base_ = [{SENTINEL2!r}]\n'
                      f'train_dataloader = dict(dataset=dict('
                      f'data_root={root!r}))\n')
    tool = load_tool('tools/analysis_tools/band_stats.py')
    result = tool.main([str(config)])
    assert result['bands'] == tuple(range(1, 14))
    pixels = valid_pixels(sorted(glob.glob(
        osp.join(root, 'img_dir', 'train', '*.tif'))))
    np.testing.assert_allclose(result['mean'], pixels.mean(0), rtol=1e-12)

    with pytest.raises(FileNotFoundError, match='No raster'):
        tool.main([str(tmp_path / 's2' / 'ann_dir'), '--suffix', '.tif'])
    with pytest.raises(SystemExit, match=r'band\(s\) \[14\] out of range'):
        tool.main([osp.join(root, 'img_dir', 'train'), '--bands', '14'])


def test_sentinel2_config_statistics_are_those_of_its_sample(tmp_path):
    """The mean/std in the config are band_stats of the default sample."""
    root = str(tmp_path / 's2')
    make_sentinel2_sample(root)
    tool = load_tool('tools/analysis_tools/band_stats.py')
    result = tool.band_statistics(sorted(glob.glob(
        osp.join(root, 'img_dir', 'train', '*.tif'))))
    pre = load_config(SENTINEL2).model.data_preprocessor
    np.testing.assert_allclose(pre.mean, result['mean'], atol=1e-3)
    np.testing.assert_allclose(pre.std, result['std'], atol=1e-3)
    assert pre.max_value == 65535


# ---------------------------------------------- synthetic data, converter
def test_sample_bands_keep_the_rgb_tiles_and_follow_the_labels(tmp_path):
    plain = render_sample_tiles(2, 1, 64, 3, 1)
    extra = render_sample_tiles(2, 1, 64, 3, 1, extra_bands=True)
    for a, b in zip(plain, extra):
        np.testing.assert_array_equal(a['image'], b['image'])
        np.testing.assert_array_equal(a['label'], b['label'])
        label = b['label']
        # Infrared: vegetation (3, 4) brighter than roads and roofs (1, 2).
        green = np.isin(label, (3, 4))
        grey = np.isin(label, (1, 2))
        assert b['ir'][green].mean() > b['ir'][grey].mean() + 60
        # Heights: roofs and trees stand above roads and lawns.
        assert b['ndsm'][np.isin(label, (2, 4))].mean() > \
            b['ndsm'][np.isin(label, (1, 3))].mean() + 40
    root = tmp_path / 'rgbir-dsm'
    make_potsdam_sample(str(root), 1, 1, size=64, seed=3,
                        bands='rgbir-dsm')
    tile = extra[0]
    image = read_image(str(root / 'img_dir' / 'train' /
                           f"{tile['crop']}.tif"))
    assert image.shape == (64, 64, 5) and image.dtype == np.uint8
    np.testing.assert_array_equal(
        image, np.dstack([tile['image'], tile['ir'], tile['ndsm']]))
    make_vaihingen_sample(str(tmp_path / 'vaihingen'), 1, 1, size=64)
    names = sorted(p.name for p in (tmp_path / 'vaihingen' / 'img_dir' /
                                    'train').iterdir())
    assert names == ['area1_0_0_64_64.png']
    assert BAND_LAYOUTS['irrg'] == ('ir', 'r', 'g')


def test_converter_writes_rgbir_dsm_crops_at_the_label_crops(tmp_path,
                                                             capsys):
    raw = tmp_path / 'raw'
    archives = write_isprs_archives(
        str(raw), num_train=1, num_val=1, size=96, eroded=True,
        archives=('4_Ortho_RGBIR', '1_DSM_normalisation'))
    assert [osp.basename(p) for p in archives] == [
        '4_Ortho_RGBIR.zip', '1_DSM_normalisation.zip',
        '5_Labels_all_noBoundary.zip']
    out = tmp_path / 'potsdam_rgbir_dsm'
    load_tool('tools/dataset_converters/potsdam.py').main([
        str(raw), '-o', str(out), '--bands', 'rgbir-dsm', '--clip-size',
        '64', '--stride-size', '32'])
    log = capsys.readouterr().out
    assert 'train: 4 images, 4 label maps' in log, log[-2000:]
    tiles = render_sample_tiles(1, 1, 96, 0, 1, extra_bands=True)
    for tile in tiles:
        # The DSM as stored (JPEG, lossy), read back from the archive.
        member = isprs_archive_member('1_DSM_normalisation', tile['name'])
        assert member == '1_DSM_normalisation/dsm_potsdam_0{}_{}_' \
            'normalized_lastools.jpg'.format(*tile['name'].split('_'))
        with zipfile.ZipFile(archives[1]) as content:
            dsm = read_image(content.extract(member, str(tmp_path)))[..., 0]
        crops = sorted(glob.glob(str(
            out / 'img_dir' / tile['split'] / f"{tile['name']}_*.tif")))
        assert len(crops) == 4
        for path in crops:
            x0, y0, x1, y1 = map(int, osp.basename(path)[:-4].split('_')[2:])
            assert osp.isfile(path.replace('img_dir', 'ann_dir')
                              .replace('.tif', '.png'))
            crop = read_image(path)
            assert crop.shape == (64, 64, 5)
            np.testing.assert_array_equal(
                crop[..., :3], tile['image'][y0:y1, x0:x1])
            np.testing.assert_array_equal(crop[..., 3],
                                          tile['ir'][y0:y1, x0:x1])
            np.testing.assert_array_equal(crop[..., 4], dsm[y0:y1, x0:x1])
        assert abs(dsm.astype(int) - tile["ndsm"]).mean() < 3


def test_vaihingen_archives_through_mmseg_converter(tmp_path, capsys):
    """The documented command (mmseg's converter) gives the IR-R-G tiles
    and the label ids of the generator."""
    raw = tmp_path / 'raw'
    write_vaihingen_archives(str(raw), num_train=1, num_val=1, size=96)
    out = tmp_path / 'vaihingen'
    load_tool('tools/dataset_converters/vaihingen.py').main([
        str(raw), '-o', str(out), '--clip-size', '64', '--stride-size',
        '32'])
    log = capsys.readouterr().out
    assert 'train: 4 images' in log, log[-2000:]
    tiles = render_sample_tiles(1, 1, 96, 0, 1, extra_bands=True)
    for tile, area in zip(tiles, ('area1', 'area6')):
        crops = sorted(glob.glob(str(
            out / 'img_dir' / tile['split'] / f'{area}_*.png')))
        assert len(crops) == 4
        for path in crops:
            x0, y0, x1, y1 = map(int, osp.basename(path)[:-4].split('_')[1:])
            irrg = cv2.imread(path)[..., ::-1]  # the file's R, G, B
            np.testing.assert_array_equal(
                irrg, tile_bands(tile, 'irrg')[y0:y1, x0:x1])
            label = cv2.imread(path.replace('img_dir', 'ann_dir'),
                               cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(label,
                                          tile['label'][y0:y1, x0:x1])


def test_converter_reports_a_missing_band_archive(tmp_path):
    tool = load_tool('tools/dataset_converters/potsdam.py')
    write_isprs_archives(str(tmp_path), 1, 0, size=32, eroded=True,
                         archives=('4_Ortho_RGBIR', ))
    with pytest.raises(FileNotFoundError, match='1_DSM_normalisation.zip'):
        tool.choose_archives(str(tmp_path), bands='rgbir-dsm')
    chosen = tool.choose_archives(str(tmp_path), bands='rgbir')
    assert [osp.basename(p) for p in chosen] == [
        '4_Ortho_RGBIR.zip', '5_Labels_all_noBoundary.zip']


# --------------------------------------------------------------- configs
@pytest.mark.parametrize('path,bands,layout', [
    (RGBIR, 4, 'rgbir'), (RGBIR_DSM, 5, 'rgbir-dsm'),
    (VAIHINGEN, 3, 'vaihingen'), (SENTINEL2, 13, 'sentinel2')])
def test_multiband_configs_build_and_load_their_bands(path, bands, layout,
                                                      tmp_path):
    from mmseg.registry import DATASETS, MODELS
    cfg = load_config(path)
    assert cfg.model.backbone.in_channels == bands
    assert len(cfg.model.data_preprocessor.mean) == bands
    assert len(cfg.model.data_preprocessor.std) == bands
    assert cfg.model.data_preprocessor.type == 'MultiBandSegDataPreProcessor'
    init = cfg.model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.adapt_channels in (
        'zero', 'mean')
    root = str(tmp_path / layout)
    if layout == 'vaihingen':
        make_vaihingen_sample(root, 2, 1, size=64)
    elif layout == 'sentinel2':
        make_sentinel2_sample(root, 3, 1, size=64)
    else:
        make_potsdam_sample(root, 2, 1, size=64, bands=layout)
    init_default_scope('mmseg')
    for loader in ('train_dataloader', 'val_dataloader'):
        dataset_cfg = cfg[loader].dataset
        dataset_cfg.data_root = root
        sample = DATASETS.build(dataset_cfg)[0]
        assert sample['inputs'].shape[0] == bands
        expected = torch.uint16 if layout == 'sentinel2' else torch.uint8
        assert sample['inputs'].dtype == expected
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert model.backbone.stem[0].in_channels == bands
    if layout != 'vaihingen':
        steps = [s.type for s in cfg.train_dataloader.dataset.pipeline]
        assert 'PhotoMetricDistortion' not in steps
        assert steps[0] == 'LoadMultiBandImageFromFile'
