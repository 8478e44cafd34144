"""Draw where LeMeViT's meta tokens look, as in Figure 4 of the paper.

For every image, and every chosen cross-attention layer (``C`` or ``D``
blocks, whose meta tokens attend to the image tokens), one row of the PNG
grid: the input, then the attention of each chosen meta token over the
image (mean over heads), upsampled and overlaid on the input as a heat map.
Without ``--checkpoint`` the weights are random (a smoke test).

Example::

    python tools/analysis_tools/visualize_meta_attention.py demo.jpg \\
        --checkpoint lemevit_tiny.pth --arch tiny --tokens 0 1 2 3 \\
        --layers stages.1.blocks.1 stages.2.blocks.1 --out meta_attn.png
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch import Tensor

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')
MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Meta-token attention maps of LeMeViT.')
    parser.add_argument('images', nargs='+',
                        help='image files or folders of images')
    parser.add_argument('--checkpoint', default=None,
                        help="LeMeViT weights (the authors' file or an "
                        'MMEngine checkpoint); random weights without')
    parser.add_argument('--arch', default='tiny',
                        help='tiny, small or base. Defaults to tiny.')
    parser.add_argument('--layers', nargs='+', default=None,
                        help='blocks such as stages.2.blocks.1 (C or D '
                        'blocks); defaults to the last D block')
    parser.add_argument('--tokens', type=int, nargs='+',
                        default=list(range(8)),
                        help='meta tokens to draw. Defaults to 0..7.')
    parser.add_argument('--input-size', type=int, default=224,
                        help='images are resized to this square size')
    parser.add_argument('--alpha', type=float, default=0.5,
                        help='heat-map opacity. Defaults to 0.5.')
    parser.add_argument('--out', default='meta_attention.png',
                        help='output PNG')
    return parser.parse_args(argv)


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
    from lemevit_mm.models import LeMeViT
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


def main(argv: Optional[Sequence[str]] = None) -> Tuple[int, int]:
    """Write the PNG grid; return its (height, width)."""
    args = parse_args(argv)
    model = build_backbone(args.arch, args.checkpoint)
    num_meta = model.meta_tokens.shape[0]
    bad = [t for t in args.tokens if not 0 <= t < num_meta]
    if bad:
        raise ValueError(f'--tokens {bad} out of range: this LeMeViT has '
                         f'{num_meta} meta tokens (0..{num_meta - 1}).')
    layers = args.layers or [
        name for name, block in cross_attention_layers(model).items()
        if block.attn_type == 'D'][-1:]
    files = list_images(args.images)
    pictures = [load_image(path, args.input_size) for path in files]
    batch = torch.from_numpy(
        (np.stack(pictures).astype(np.float32) - MEAN) / STD)
    maps = meta_attention_maps(model, batch.permute(0, 3, 1, 2), layers)
    grid = draw_grid(pictures, maps, layers, args.tokens, args.alpha)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    cv2.imwrite(args.out, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    print(f'{args.out}: {len(files)} image(s) x {len(layers)} layer(s) '
          f'({", ".join(layers)}), tokens {args.tokens}, '
          f'{grid.shape[1]}x{grid.shape[0]} px')
    return grid.shape[:2]


if __name__ == '__main__':
    main()
