"""Tiling of large scenes: the tile grid, the blending window and the
streaming blender that turns overlapping tile predictions into finished
rows of the scene.

Every scene-scale task uses these pieces: segmentation and change
detection blend per-pixel logits, oriented detection and classification
use the grid alone.
"""
from typing import Iterator, List, Tuple

import numpy as np

__all__ = [
    'tile_starts', 'tile_grid', 'grid_size', 'blend_window',
    'StreamingBlender', 'pad_tile', 'ceil_div', 'fit_tile'
]


def tile_starts(length: int, tile: int, stride: int) -> List[int]:
    """Start offsets of tiles of size ``tile`` that cover ``[0, length)``
    with steps of ``stride``; the last tile ends at the border (it is moved
    back, as mmseg's slide inference does). A scene shorter than a tile
    gets one tile at 0, which the reader pads."""
    if tile <= 0 or stride <= 0:
        raise ValueError(f'tile ({tile}) and stride ({stride}) must be > 0')
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def tile_grid(height: int, width: int, tile: Tuple[int, int],
              overlap: int) -> List[List[Tuple[int, int]]]:
    """Rows of tile origins ``(row, col)`` covering a ``height x width``
    scene with tiles of ``tile = (h, w)`` overlapping by ``overlap``
    pixels."""
    tile_h, tile_w = tile
    if not 0 <= overlap < min(tile_h, tile_w):
        raise ValueError(f'overlap ({overlap}) must be >= 0 and smaller '
                         f'than the tile ({tile_h}x{tile_w}).')
    rows = tile_starts(height, tile_h, tile_h - overlap)
    cols = tile_starts(width, tile_w, tile_w - overlap)
    return [[(row, col) for col in cols] for row in rows]


def blend_window(tile: Tuple[int, int], overlap: int) -> np.ndarray:
    """``(h, w)`` float32 weights that fall linearly to ``1 / (overlap +
    1)`` over the ``overlap`` pixels at each edge and are 1 inside.

    Every weight is positive, so a pixel covered by one tile alone (at the
    scene border) keeps its prediction, and in an overlap the tile whose
    centre is nearer weighs more: no seams where tiles meet."""

    def ramp(n: int) -> np.ndarray:
        distance = np.minimum(np.arange(n), np.arange(n)[::-1]) + 1
        return np.minimum(distance / (overlap + 1), 1.).astype(np.float32)

    return np.outer(ramp(tile[0]), ramp(tile[1]))


def pad_tile(data: np.ndarray, tile: Tuple[int, int]) -> np.ndarray:
    """Pad a ``(C, h, w)`` read at the scene's bottom/right border to
    ``tile`` by mirroring (no artificial black edge)."""
    pad_h, pad_w = tile[0] - data.shape[1], tile[1] - data.shape[2]
    if pad_h == 0 and pad_w == 0:
        return data
    return np.pad(data, ((0, 0), (0, pad_h), (0, pad_w)), mode='symmetric')


class StreamingBlender:
    """Accumulates weighted tile predictions, one row of tiles at a time,
    and hands out the rows of the scene that no later tile touches.

    Memory: one band of ``tile_h`` scene rows (``channels x tile_h x
    width`` floats) whatever the scene's height.

    Args:
        height (int): Scene height.
        width (int): Scene width.
        channels (int): Channels of a prediction (e.g. classes).
        tile (tuple[int, int]): Tile size ``(h, w)``.
        overlap (int): Overlap of neighbouring tiles in pixels.

    Use: for each tile row of :func:`tile_grid`, ``add()`` its tiles,
    then ``finish_row()`` yields ``(first_row, averaged (C, n, width))``
    blocks in order from top to bottom.
    """

    def __init__(self, height: int, width: int, channels: int,
                 tile: Tuple[int, int], overlap: int) -> None:
        self.height, self.width = height, width
        self.tile = tile
        self.grid = tile_grid(height, width, tile, overlap)
        self.window = blend_window(tile, overlap)
        band = min(tile[0], height)
        self._sum = np.zeros((channels, band, width), np.float32)
        self._weight = np.zeros((band, width), np.float32)
        self._top = 0  # scene row of the band's first row
        self._row_index = 0

    def add(self, prediction: np.ndarray, row: int, col: int) -> None:
        """Add one tile's ``(C, tile_h, tile_w)`` prediction at its origin
        (parts beyond the scene, from padding, are dropped)."""
        h = min(self.tile[0], self.height - row)
        w = min(self.tile[1], self.width - col)
        top = row - self._top
        weight = self.window[:h, :w]
        self._sum[:, top:top + h, col:col + w] += \
            prediction[:, :h, :w] * weight
        self._weight[top:top + h, col:col + w] += weight

    def finish_row(self) -> Iterator[Tuple[int, np.ndarray]]:
        """After the tiles of the current tile row were added, yield the
        finished scene rows as ``(first_row, (C, n, width))``."""
        self._row_index += 1
        if self._row_index < len(self.grid):
            done = self.grid[self._row_index][0][0] - self._top
        else:
            done = self.height - self._top
        if done <= 0:
            return
        yield self._top, self._sum[:, :done] / self._weight[:done]
        keep = self._sum.shape[1] - done
        self._sum[:, :keep] = self._sum[:, done:]
        self._sum[:, keep:] = 0
        self._weight[:keep] = self._weight[done:]
        self._weight[keep:] = 0
        self._top += done


def grid_size(height: int, width: int, tile: Tuple[int, int],
              overlap: int) -> int:
    """Number of tiles :func:`tile_grid` makes."""
    rows = tile_starts(height, tile[0], tile[0] - overlap)
    cols = tile_starts(width, tile[1], tile[1] - overlap)
    return len(rows) * len(cols)


def ceil_div(a: int, b: int) -> int:
    """``ceil(a / b)`` for positive integers."""
    return -(-a // b)



def fit_tile(tile: Tuple[int, int], overlap: int, height: int, width: int,
             divisor: int = 32) -> Tuple[Tuple[int, int], int]:
    """The tile and overlap for a ``height x width`` scene: a tile side
    longer than the scene's is cut to the scene's, rounded up to
    ``divisor`` (the model's output stride), so that a small scene is not
    padded out to a large tile; the overlap stays below the tile."""
    divisor = max(int(divisor), 1)
    fitted = tuple(
        min(side, ceil_div(length, divisor) * divisor) if length < side
        else side for side, length in zip(tile, (height, width)))
    if fitted != tuple(tile):
        overlap = min(overlap, min(fitted) - 1)
    return (fitted[0], fitted[1]), overlap
