"""Models for the analysis tools, named on the command line.

A model spec is one of
- a preset name (``PRESETS``);
- a registered type with keyword arguments in Python call syntax, e.g.
  ``"mmpretrain.SwinTransformer(arch='tiny')"``;
- a config file, whose ``model`` is built in its ``default_scope``.

Also builds synthetic batches for one training step of a config.
"""
import ast
import copy
import os.path as osp
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from ..models.lemevit_classifier import \
    lemevit_classifier as classifier_config


def lemevit_classifier(arch: str, num_classes: int = 1000) -> dict:
    """The authors' LeMeViT classifier as an mmpretrain ImageClassifier."""
    return classifier_config(arch, num_classes,
                             classifier='mmpretrain.ImageClassifier',
                             head='mmpretrain.LinearClsHead')


PRESETS: Dict[str, dict] = {
    'lemevit-t': lemevit_classifier('tiny'),
    'lemevit-s': lemevit_classifier('small'),
    'lemevit-b': lemevit_classifier('base'),
    'lemevit-t-backbone': dict(type='LeMeViT', arch='tiny'),
    'swin-t': dict(type='mmpretrain.SwinTransformer', arch='tiny'),
    'pvtv2-b1': dict(type='mmdet.PyramidVisionTransformerV2', embed_dims=64,
                     num_layers=[2, 2, 2, 2]),
}


def spec_is_config(spec: str) -> bool:
    return spec.endswith('.py')


def parse_call_spec(spec: str) -> dict:
    """``"Type(a=1, b='x')"`` (or a bare ``Type``) -> a registry dict."""
    try:
        node = ast.parse(spec, mode='eval').body
    except SyntaxError as err:
        raise ValueError(f'Cannot read model spec {spec!r}: {err.msg}; '
                         "expected e.g. \"LeMeViT(arch='tiny')\".") from None
    if not isinstance(node, ast.Call):
        node = ast.Call(func=node, args=[], keywords=[])
    if node.args:
        raise ValueError(f'Model spec {spec!r}: give keyword arguments '
                         'only.')
    cfg = dict(type=ast.unparse(node.func))
    for keyword in node.keywords:
        try:
            cfg[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            raise ValueError(
                f'Model spec {spec!r}: argument {keyword.arg} must be a '
                f'literal, got {ast.unparse(keyword.value)!r}.') from None
    return cfg


def import_registries() -> None:
    """Fill the downstream registries that presets and specs refer to."""
    import mmdet.models  # noqa: F401
    import mmpretrain.models  # noqa: F401

    import lemevit_mm  # noqa: F401


def set_lemevit_backend(cfg: dict, backend: Optional[str]) -> dict:
    """Set ``attn_backend`` of every LeMeViT in a model dict (in place)."""
    from ..apis import iter_config_dicts
    if backend:
        for node in iter_config_dicts(cfg):
            if str(node.get('type', '')).endswith('LeMeViT'):
                node['attn_backend'] = backend
    return cfg


def input_size_pair(size: Sequence[int]) -> Tuple[int, int]:
    if len(size) == 1:
        return size[0], size[0]
    if len(size) == 2:
        return size[0], size[1]
    raise ValueError(f'--input-size takes H or H W, got {list(size)}.')


def load_config(path: str):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    if not osp.isfile(path):
        raise FileNotFoundError(f'Config file not found: {path}')
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    return cfg


def build_model_cfg(spec: str, attn_backend: Optional[str] = None):
    """The model dict of a spec, and the config when it is a file."""
    import_registries()
    cfg = None
    if spec_is_config(spec):
        cfg = load_config(spec)
        model_cfg = cfg.model.to_dict()
        if 'data_preprocessor' in cfg:  # as the Runner merges it
            model_cfg.setdefault('data_preprocessor',
                                 cfg.data_preprocessor.to_dict())
    elif spec in PRESETS:
        model_cfg = copy.deepcopy(PRESETS[spec])
    else:
        model_cfg = parse_call_spec(spec)
    from mmengine.config import ConfigDict
    return ConfigDict(set_lemevit_backend(model_cfg, attn_backend)), cfg


def build_model_spec(spec: str, attn_backend: Optional[str] = None,
                     device: str = 'cpu',
                     input_size: Tuple[int, int] = (224, 224),
                     batch_size: int = 1, mode: str = 'predict'
                     ) -> Tuple[nn.Module, Callable[[Tensor], object]]:
    """Build a spec's model and the forward function used for inference.

    Backbones and necks are called on the image tensor; an MMEngine
    ``BaseModel`` of a preset runs in ``'tensor'`` mode; a config's model
    runs in ``mode`` (``'predict'``: the whole inference with
    post-processing; ``'tensor'``: up to the raw head outputs), with
    synthetic image metas.
    """
    from mmengine.model import BaseModel
    from mmengine.registry import MODELS
    model_cfg, cfg = build_model_cfg(spec, attn_backend)
    model = MODELS.build(model_cfg).to(device)
    model.eval()  # (some backbones' train() does not return self)
    if cfg is not None:
        samples = make_data_samples(cfg, model, batch_size, input_size,
                                    with_gt=False)

        def forward(inputs: Tensor):
            return model(inputs, samples, mode=mode)
    elif isinstance(model, BaseModel):

        def forward(inputs: Tensor):
            return model(inputs, mode='tensor')
    else:
        forward = model
    return model, forward


def input_channels(model: nn.Module) -> int:
    """Channels of the input tensor: 3, or both dates of a Siamese change
    detector stacked (``2 * image_channels``)."""
    if hasattr(model, 'split_dates'):
        return 2 * int(getattr(model, 'image_channels', 3))
    backbone = getattr(model, 'backbone', model)
    return int(getattr(backbone, 'in_channels', 3))


def _num_classes(model: nn.Module, default: int = 2) -> int:
    for name in ('decode_head', 'head', 'roi_head.bbox_head'):
        module = model
        for part in name.split('.'):
            module = getattr(module, part, None)
        if module is not None and hasattr(module, 'num_classes'):
            return int(module.num_classes)
    return default


def structures_package(cfg, model: nn.Module) -> Optional[str]:
    """The OpenMMLab package whose data samples ``model`` takes:
    ``'mmrotate'``, ``'mmdet'``, ``'mmseg'`` or ``'mmpretrain'``, from the
    config's default scope or the package of the model's class; None for
    another one."""
    scope = cfg.get('default_scope', '')
    package = type(model).__module__.split('.')[0]
    for known in ('mmrotate', 'mmdet', 'mmseg', 'mmpretrain'):
        if known in (scope, package):
            return known
    return None


def make_data_samples(cfg, model: nn.Module, batch_size: int,
                      size: Tuple[int, int], with_gt: bool = True) -> list:
    """Data samples with image metas (and random ground truth) for a
    config's model; None for tasks this tool does not know."""
    from mmengine.structures import PixelData
    structures = structures_package(cfg, model)
    height, width = size
    num_classes = _num_classes(model)
    meta = dict(img_shape=(height, width), ori_shape=(height, width),
                pad_shape=(height, width), batch_input_shape=(height, width),
                scale_factor=(1., 1.), flip=False)
    samples = []
    for _ in range(batch_size):
        if structures == 'mmpretrain':
            from mmpretrain.structures import DataSample
            sample = DataSample(metainfo=meta)
            if with_gt:
                sample.set_gt_label(torch.randint(num_classes, (1, )))
        elif structures == 'mmseg':
            from mmseg.structures import SegDataSample
            sample = SegDataSample(metainfo=meta)
            if with_gt:
                sample.gt_sem_seg = PixelData(data=torch.randint(
                    num_classes, (1, height, width)))
        elif structures in ('mmdet', 'mmrotate'):
            from mmdet.structures import DetDataSample
            sample = DetDataSample(metainfo=meta)
            if with_gt:
                sample.gt_instances = random_instances(
                    num_classes, height, width,
                    rotated=structures == 'mmrotate')
        else:
            return None
        samples.append(sample)
    return samples


def random_instances(num_classes: int, height: int, width: int,
                     count: int = 8, rotated: bool = False):
    """Random boxes (mmrotate's ``RotatedBoxes`` if ``rotated``, else
    mmdet's horizontal ones) and labels."""
    from mmengine.structures import InstanceData
    centers = torch.rand(count, 2) * torch.tensor([width, height]) * 0.6 + \
        torch.tensor([width, height]) * 0.2
    sizes = torch.rand(count, 2) * min(height, width) * 0.2 + 16
    instances = InstanceData(labels=torch.randint(num_classes, (count, )))
    if rotated:
        from mmrotate.structures.bbox import RotatedBoxes
        angles = (torch.rand(count, 1) - 0.5) * 3.14159
        instances.bboxes = RotatedBoxes(torch.cat([centers, sizes, angles],
                                                  1))
    else:
        from mmdet.structures.bbox import HorizontalBoxes
        instances.bboxes = HorizontalBoxes(
            torch.cat([centers - sizes / 2, centers + sizes / 2], 1))
    return instances


def make_batch(cfg, model: nn.Module, batch_size: int, size: Tuple[int, int],
               device: str) -> dict:
    """A training batch as a dataloader would give it (before the data
    preprocessor): synthetic for classification, segmentation and
    (rotated) detection; else the first batch of the config's train
    dataloader."""
    samples = make_data_samples(cfg, model, batch_size, size)
    if samples is None:
        from mmengine.runner import Runner
        loader_cfg = copy.deepcopy(cfg.train_dataloader)
        loader_cfg.batch_size = batch_size
        loader_cfg.num_workers = 0
        loader_cfg.persistent_workers = False
        loader = Runner.build_dataloader(loader_cfg)
        return next(iter(loader))
    height, width = size
    channels = input_channels(model)
    inputs = [torch.randint(0, 256, (channels, height, width),
                            dtype=torch.uint8)
              for _ in range(batch_size)]
    return dict(inputs=inputs, data_samples=samples)
