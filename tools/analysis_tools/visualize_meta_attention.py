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
from typing import Optional, Sequence, Tuple

from lemevit_mm.analysis.meta_attention import draw_meta_attention


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


def main(argv: Optional[Sequence[str]] = None) -> Tuple[int, int]:
    """Write the PNG grid; return its (height, width)."""
    args = parse_args(argv)
    return draw_meta_attention(args.images, args.out, args.arch,
                               args.checkpoint, args.layers, args.tokens,
                               args.input_size, args.alpha)


if __name__ == '__main__':
    main()
