"""Where LeMeViT's meta tokens look, as in Figure 4 of the paper.

For every image, and every chosen cross-attention layer (``C`` or ``D``
blocks, whose meta tokens attend to the image tokens), one row of a PNG
grid: the input, then the attention of each chosen meta token over the
image (mean over heads), upsampled and overlaid on the input as a heat map.
``tools/analysis_tools/visualize_meta_attention.py`` is the command line.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch import Tensor

__all__ = [
    'list_images', 'load_image', 'build_backbone', 'cross_attention_layers',
    'meta_attention_maps', 'overlay', 'draw_grid', 'draw_meta_attention'
]

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')
MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def list_images(paths: Sequence[str]) -> List[str]:
    """Image files of ``paths`` (folders are listed, sorted)."""
    files = []
    for path in paths:
        if osp.isdir(path):
            found = sorted(osp.join(path, name) for name in os.listdir(path)
                           if name.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise FileNotFoundError(
                    f'No image ({", ".join(IMAGE_EXTENSIONS)}) in folder '
                    f'{path}')
            files.extend(found)
        elif osp.isfile(path):
            files.append(path)
        else:
            raise FileNotFoundError(f'Image not found: {path}')
    return files


def load_image(path: str, size: int) -> np.ndarray:
    """RGB uint8 image resized to ``size x size``."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f'Cannot read image {path} (not an image file?)')
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def build_backbone(arch: str, checkpoint: Optional[str]):
    from ..models import LeMeViT
    model = LeMeViT(arch, out_indices=(4, ), out_meta_tokens=True)
    if checkpoint:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'Checkpoint not found: {checkpoint}')
        model.load_pretrained(checkpoint)
    return model.eval()


def cross_attention_layers(model) -> Dict[str, torch.nn.Module]:
    """Blocks whose meta tokens attend to the image tokens (C and D)."""
    return {name: module for name, module in model.named_modules()
            if getattr(module, 'attn_type', None) in ('C', 'D')}


def meta_attention_maps(model, images: Tensor, layers: Sequence[str]
                        ) -> Dict[str, Tensor]:
    """Attention of every meta token over the image, ``(B, M, h, w)``,
    mean over heads, for each block name in ``layers``."""
    blocks = cross_attention_layers(model)
    unknown = [name for name in layers if name not in blocks]
    if unknown:
        raise ValueError(f'{unknown} are not C/D blocks of this LeMeViT; '
                         f'choose from {sorted(blocks)}.')
    maps: Dict[str, Tensor] = {}
    handles = []
    for name in layers:
        block = blocks[name]

        def capture(module, args, name=name, block=block):
            x, meta = args[0], args[1]
            batch, height, width, dim = x.shape
            x = block.add_position_encoding(x)
            tokens = block.norm1(x.reshape(batch, height * width, dim))
            meta = block.norm1(meta)
            if block.attn_type == 'C':
                attn = block.attn.meta_attention(meta, tokens)
            else:
                attn = block.attn.meta_attention(tokens, meta)
            maps[name] = attn.mean(1).reshape(batch, -1, height, width)

        handles.append(block.register_forward_pre_hook(capture))
    try:
        with torch.no_grad():
            model(images)
    finally:
        for handle in handles:
            handle.remove()
    return maps


def overlay(image: np.ndarray, attention: np.ndarray,
            alpha: float) -> np.ndarray:
    """Heat map of ``attention`` (h x w, any scale) over an RGB image."""
    size = image.shape[:2]
    attention = cv2.resize(attention.astype(np.float32), size[::-1],
                           interpolation=cv2.INTER_CUBIC)
    low, high = attention.min(), attention.max()
    attention = (attention - low) / max(high - low, 1e-12)
    heat = cv2.applyColorMap(np.uint8(255 * attention), cv2.COLORMAP_JET)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB)
    return np.uint8((1 - alpha) * image + alpha * heat)


def draw_grid(images: Sequence[np.ndarray], maps: Dict[str, Tensor],
              layers: Sequence[str], tokens: Sequence[int],
              alpha: float) -> np.ndarray:
    """Rows: (image, layer); columns: the input, then one per token."""
    rows = []
    for i, image in enumerate(images):
        for name in layers:
            cells = [image] + [overlay(image, maps[name][i, t].numpy(),
                                       alpha) for t in tokens]
            rows.append(np.concatenate(cells, axis=1))
    return np.concatenate(rows, axis=0)


def draw_meta_attention(images: Sequence[str], out: str,
                        arch: str = 'tiny',
                        checkpoint: Optional[str] = None,
                        layers: Optional[Sequence[str]] = None,
                        tokens: Sequence[int] = tuple(range(8)),
                        input_size: int = 224,
                        alpha: float = 0.5) -> Tuple[int, int]:
    """Write the PNG grid of meta-token attention maps.

    Args:
        images (Sequence[str]): Image files or folders of images.
        out (str): The PNG to write.
        arch (str): LeMeViT arch. Defaults to 'tiny'.
        checkpoint (str, optional): LeMeViT weights (the authors' file or
            an MMEngine checkpoint); random weights without.
        layers (Sequence[str], optional): C or D blocks such as
            ``stages.2.blocks.1``; defaults to the last D block.
        tokens (Sequence[int]): The meta tokens to draw.
        input_size (int): Images are resized to this square size.
        alpha (float): Heat-map opacity.

    Returns:
        tuple[int, int]: The grid's (height, width).
    """
    model = build_backbone(arch, checkpoint)
    num_meta = model.meta_tokens.shape[0]
    bad = [t for t in tokens if not 0 <= t < num_meta]
    if bad:
        raise ValueError(f'--tokens {bad} out of range: this LeMeViT has '
                         f'{num_meta} meta tokens (0..{num_meta - 1}).')
    layers = layers or [
        name for name, block in cross_attention_layers(model).items()
        if block.attn_type == 'D'][-1:]
    files = list_images(images)
    pictures = [load_image(path, input_size) for path in files]
    batch = torch.from_numpy(
        (np.stack(pictures).astype(np.float32) - MEAN) / STD)
    maps = meta_attention_maps(model, batch.permute(0, 3, 1, 2), layers)
    grid = draw_grid(pictures, maps, layers, tokens, alpha)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    cv2.imwrite(out, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    print(f'{out}: {len(files)} image(s) x {len(layers)} layer(s) '
          f'({", ".join(layers)}), tokens {list(tokens)}, '
          f'{grid.shape[1]}x{grid.shape[0]} px')
    return grid.shape[:2]
