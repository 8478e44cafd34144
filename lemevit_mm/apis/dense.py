"""Dense tasks on whole rasters: semantic segmentation
(:class:`SegmentationInferencer`) and change detection of two dates
(:class:`ChangeInferencer`).

The logits of overlapping tiles are blended (:mod:`.tiling`) and the
finished rows of the scene go, in order, to a sink: in memory
(:class:`MemorySink`) or streamed into GeoTIFFs (:class:`GeoTiffSink`).
Imports numpy, rasterio and the package's pure modules only.
"""
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..io.raster import (GeoTiffWriter, RasterSource, check_same_grid,
                         float16_supported)
from .scene import InferOptions, SceneInferencer, SceneResult, Tile
from .streaming import Progress, read_ahead
from .tiling import (StreamingBlender, fit_tile, grid_size, pad_tile,
                     tile_grid)

__all__ = [
    'DenseResult', 'MemorySink', 'GeoTiffSink', 'SegmentationInferencer',
    'ChangeInferencer', 'probs_path', 'NODATA_LABEL'
]

# The class id of pixels without data.
NODATA_LABEL = 255
# (ids (n, W) uint8, probabilities (K, n, W) float32) of blended logits
# (K, n, W) and the valid pixels (n, W).
ToLabels = Callable[[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]


class DenseResult(SceneResult):
    """What a dense inferencer returns: ``labels`` ((H, W) uint8, 255 at
    nodata) and ``probs`` ((K, H, W) float32) when kept in memory, else
    the written ``paths``; plus ``tiles`` and ``seconds``."""


def probs_path(out: str) -> str:
    """Where ``--probs`` writes the probabilities beside ``out``."""
    stem, ext = osp.splitext(out)
    return f'{stem}_probs{ext or ".tif"}'


class MemorySink:
    """Collects the class map (and the probabilities) of a scene in
    memory.

    Args:
        height (int): Scene height.
        width (int): Scene width.
        probs (bool): Keep the probabilities too.
    """

    def __init__(self, height: int, width: int, probs: bool) -> None:
        self.labels = np.empty((height, width), np.uint8)
        self.probs = probs
        self.probabilities: Optional[np.ndarray] = None

    def write(self, top: int, ids: np.ndarray,
              probabilities: np.ndarray) -> None:
        """Rows ``top ..`` of the class ids ``(n, W)`` and probabilities
        ``(K, n, W)``."""
        self.labels[top:top + ids.shape[0]] = ids
        if self.probs:
            if self.probabilities is None:
                self.probabilities = np.empty(
                    (probabilities.shape[0], *self.labels.shape),
                    np.float32)
            self.probabilities[:, top:top + ids.shape[0]] = probabilities

    def finish(self, result: SceneResult) -> None:
        result['labels'] = self.labels
        if self.probs:
            result['probs'] = self.probabilities

    def abort(self) -> None:
        pass


class GeoTiffSink:
    """Streams the class map (uint8 with a colour table, 255 at nodata)
    and, with ``probs``, the probabilities (float16 where GDAL writes it,
    else float32; NaN at nodata) into GeoTIFFs on the grid of ``like``.

    Args:
        out (str): The class map; the probabilities go to
            :func:`probs_path`.
        like (RasterSource): The grid.
        probs (bool): Write the probabilities.
        classes (Sequence[str]): Class names (band descriptions).
        palette (Sequence[tuple]): A colour per class.
        tags (dict): Dataset tags of both files.
    """

    def __init__(self, out: str, like: RasterSource, probs: bool,
                 classes: Sequence[str], palette: Sequence[tuple],
                 tags: Dict[str, str]) -> None:
        self.out, self.like, self.probs = out, like, probs
        self.classes, self.tags = list(classes), tags
        colormap = {i: (*c, 255) for i, c in enumerate(palette)}
        colormap[NODATA_LABEL] = (0, 0, 0, 0)
        self.writers = [GeoTiffWriter(
            out, like, 1, 'uint8', nodata=NODATA_LABEL, colormap=colormap,
            tags=tags, band_descriptions=['class'])]
        self.paths = [out]
        self._probs_writer: Optional[GeoTiffWriter] = None

    def write(self, top: int, ids: np.ndarray,
              probabilities: np.ndarray) -> None:
        """The next rows (``top`` follows the previous ones)."""
        self.writers[0].append_rows(ids[None])
        if not self.probs:
            return
        if self._probs_writer is None:  # the class count is known now
            path = probs_path(self.out)
            count = probabilities.shape[0]
            dtype = 'float16' if float16_supported() else 'float32'
            names = self.classes if len(self.classes) == count else \
                [f'class_{i}' for i in range(count)]
            self._probs_writer = GeoTiffWriter(
                path, self.like, count, dtype, nodata=float('nan'),
                tags=self.tags, band_descriptions=names)
            self.writers.append(self._probs_writer)
            self.paths.append(path)
        self._probs_writer.append_rows(probabilities)

    def finish(self, result: SceneResult) -> None:
        """Complete the files (renamed to their final names)."""
        while self.writers:
            self.writers[0].close()
            self.writers.pop(0)
        result['paths'] = self.paths

    def abort(self) -> None:
        """Drop the unfinished files."""
        for writer in self.writers:
            writer.abort()
        self.writers = []


class _DenseInferencer(SceneInferencer):
    """Blends the logits of overlapping tiles (see :mod:`.tiling`)."""

    NODATA_LABEL = NODATA_LABEL

    @classmethod
    def output_files(cls, out: str, options: InferOptions) -> List[str]:
        return [out, probs_path(out)] if options.probs else [out]

    def _infer(self, inputs: List[str], out: Optional[str],
               options: InferOptions) -> SceneResult:
        return self._run(inputs, out, options.probs, options.tile,
                         options.overlap, align=options.align)

    def forward_tiles(self, batch: np.ndarray) -> np.ndarray:
        """Per-pixel logits ``(B, K, h, w)`` of a batch of tiles given as
        ``(B, C, h, w)`` float32 in the model's channel layout."""
        return self.backend.forward(batch)

    def _predict(self,
                 sources: Sequence[RasterSource],
                 mask_sources: Sequence[RasterSource],
                 sink: Callable[[int, np.ndarray, np.ndarray], None],
                 tile: Optional[Tile], overlap: Optional[int],
                 forward: Optional[Callable] = None) -> Tuple[int, float]:
        """Run the scene through the model; ``sink(row, logits (K, n, W),
        valid (n, W))`` receives the finished rows in order."""
        tile = self.tile_size(tile)
        overlap = self.default_overlap(tile) if overlap is None else overlap
        forward = forward or self.forward_tiles
        first = sources[0]
        height, width = first.height, first.width
        tile, overlap = fit_tile(tile, overlap, height, width,
                                 self.info.size_divisor)
        total = grid_size(height, width, tile, overlap)
        progress = Progress(total, osp.basename(first.path), self.quiet)
        blender: Optional[StreamingBlender] = None
        grid = tile_grid(height, width, tile, overlap)
        row_sizes = [len(r) for r in grid]
        added = [0] * len(grid)
        tiles = self._tiles(sources, tile, overlap, pad_tile)
        for batch in read_ahead(self._batches(tiles)):
            logits = forward(np.stack([item[3] for item in batch]))
            if blender is None:
                blender = StreamingBlender(height, width, logits.shape[1],
                                           tile, overlap)
            for (index, row, col, _), prediction in zip(batch, logits):
                blender.add(prediction, row, col)
                added[index] += 1
                if added[index] == row_sizes[index]:
                    for top, block in blender.finish_row():
                        valid = np.ones(block.shape[1:], bool)
                        window = (top, 0, block.shape[1], width)
                        for source in mask_sources:
                            valid &= source.valid_mask(window)
                        sink(top, block, valid)
            progress.update(len(batch))
        return total, progress.seconds

    def _run(self, paths: Sequence[str], out: Optional[str], probs: bool,
             tile: Optional[Tile], overlap: Optional[int],
             align: bool = False, forward: Optional[Callable] = None,
             to_labels: Optional[ToLabels] = None) -> DenseResult:
        to_labels = to_labels or self.to_labels
        opened: List[RasterSource] = []
        sink = None
        try:
            for index, path in enumerate(paths):
                opened.append(self.open(
                    path, align_to=opened[0] if align and index else None))
            for other in opened[1:]:
                check_same_grid(opened[0], other)
            # GDAL datasets are used by one thread each: the masks are read
            # from a second handle while the tiles are read ahead.
            masks = [RasterSource(s.path, s.bands,
                                  align_to=opened[0] if align and i else None)
                     for i, s in enumerate(opened)]
            opened.extend(masks)
            sources = opened[:len(paths)]
            like = sources[0]
            sink = MemorySink(like.height, like.width, probs) \
                if out is None else GeoTiffSink(
                    out, like, probs, self.classes, self.palette(),
                    self._label_tags())

            def receive(top: int, logits: np.ndarray,
                        valid: np.ndarray) -> None:
                sink.write(top, *to_labels(logits, valid))

            result = DenseResult()
            result['tiles'], result['seconds'] = self._predict(
                sources, masks, receive, tile, overlap, forward)
            sink.finish(result)
            sink = None
            return result
        finally:
            if sink is not None:
                sink.abort()
            for source in opened:
                source.close()

    def _label_tags(self) -> Dict[str, str]:
        return dict(
            super()._label_tags(), nodata_label=str(self.NODATA_LABEL),
            lemevit_config=osp.basename(self.info.config or ''))

    def to_labels(self, logits: np.ndarray, valid: np.ndarray
                  ) -> Tuple[np.ndarray, np.ndarray]:
        """What the outputs hold of blended logits (see
        :meth:`logits_to_outputs`)."""
        return self.logits_to_outputs(logits, valid)

    def logits_to_outputs(self, logits: np.ndarray, valid: np.ndarray
                          ) -> Tuple[np.ndarray, np.ndarray]:
        """Class ids ``(n, W)`` (255 at nodata) and probabilities
        ``(K, n, W)`` (NaN at nodata) of blended logits."""
        ids = logits.argmax(0).astype(np.uint8)
        ids[~valid] = self.NODATA_LABEL
        shifted = np.exp(logits - logits.max(0, keepdims=True))
        probabilities = shifted / shifted.sum(0, keepdims=True)
        probabilities[:, ~valid] = np.nan
        return ids, probabilities


class SegmentationInferencer(_DenseInferencer):
    """Semantic segmentation of whole rasters (mmseg models).

    ``inferencer(path, out=None)`` returns the class map (and with
    ``probs=True`` the class probabilities) in memory, or streams them to
    the GeoTIFF ``out`` (and ``<out>_probs.tif``), with the input's CRS,
    transform and size, a colour table and the class names.

    Tiles default to the config's slide-inference crop and stride.
    """

    task = 'seg'

    def __call__(self, path: str, out: Optional[str] = None,
                 probs: bool = False, tile: Optional[Tile] = None,
                 overlap: Optional[int] = None) -> DenseResult:
        return self._run([path], out, probs, tile, overlap)


class ChangeInferencer(_DenseInferencer):
    """Change detection of two co-registered rasters (the Siamese models
    of :mod:`lemevit_mm.cd`): a 0/1 change mask (and the probability of
    change with ``probs=True``).

    The two dates must share size, CRS and transform (an error names what
    differs), unless ``align=True`` resamples date B onto date A's grid.
    """

    task = 'cd'
    num_inputs = 2

    @classmethod
    def input_count_error(cls, count: int) -> Optional[str]:
        if count == cls.num_inputs:
            return None
        return 'change detection takes two inputs (INPUT INPUT_B)'

    def __call__(self, path_a: str, path_b: str, out: Optional[str] = None,
                 probs: bool = False, tile: Optional[Tile] = None,
                 overlap: Optional[int] = None,
                 align: bool = False) -> DenseResult:
        return self._run([path_a, path_b], out, probs, tile, overlap,
                         align=align)

    def to_labels(self, logits: np.ndarray, valid: np.ndarray
                  ) -> Tuple[np.ndarray, np.ndarray]:
        return self._change_outputs(logits, valid)

    def _change_outputs(self, logits: np.ndarray, valid: np.ndarray
                        ) -> Tuple[np.ndarray, np.ndarray]:
        """The change mask and the probability of change (one band)."""
        ids, probabilities = self.logits_to_outputs(logits, valid)
        return ids, probabilities[1:]
