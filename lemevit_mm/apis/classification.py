"""Scene classification (:class:`ClassificationInferencer`): the top-k
classes of whole images (a CSV table), or a class map of a large raster
with one pixel per tile.

Imports numpy, rasterio and the package's pure modules only.
"""
import csv
import os.path as osp
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..io.atomic import write_atomically
from ..io.raster import GeoTiffWriter, RasterGrid, RasterSource
from .dense import DenseResult, probs_path
from .scene import InferOptions, SceneInferencer, SceneResult, Tile
from .streaming import Progress, read_ahead
from .tiling import pad_tile

__all__ = ['ClassificationInferencer', 'write_csv', 'csv_header']


def csv_header(topk: int) -> List[str]:
    """``file, class1, score1, ..., class<k>, score<k>``."""
    return ['file'] + [f'{key}{i + 1}' for i in range(topk)
                       for key in ('class', 'score')]


def write_csv(path: str, records: Sequence[Dict[str, Any]],
              topk: int) -> None:
    """Write top-k records (``dict(file, classes, scores)``) as a CSV
    table atomically (creating its folder)."""
    def write(tmp: str) -> None:
        with open(tmp, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(csv_header(topk))
            for record in records:
                row = [record['file']]
                for name, score in zip(record['classes'], record['scores']):
                    row += [name, f'{score:.5f}']
                writer.writerow(row)

    write_atomically(path, write, make_folder=True)


class ClassificationInferencer(SceneInferencer):
    """Scene classification (mmpretrain models): the top-k classes of
    whole images, or with ``tile`` a class map of a large raster with one
    pixel per tile (a GeoTIFF whose transform scales the input's by the
    tile size).

    Images are resized and cropped by the config's test pipeline (the
    backend's ``prepare``); tiles go to the model at the tile size.

    :meth:`infer` without a tile classifies the images ``inputs`` into
    the CSV ``out``; with one it maps the scene ``inputs[0]``.
    """

    task = 'cls'

    @classmethod
    def collects_inputs(cls, options: InferOptions) -> bool:
        return options.tile is None

    @classmethod
    def output_extension(cls, options: InferOptions) -> str:
        return '.csv' if cls.collects_inputs(options) else '.tif'

    @classmethod
    def output_files(cls, out: str, options: InferOptions) -> List[str]:
        if cls.collects_inputs(options) or not options.probs:
            return [out]
        return [out, probs_path(out)]

    def _infer(self, inputs: List[str], out: Optional[str],
               options: InferOptions) -> SceneResult:
        if not self.collects_inputs(options):
            return self.class_map(inputs[0], out, options.tile,
                                  options.probs)
        start = time.perf_counter()
        records = self(inputs, topk=options.topk)
        result = SceneResult(records=records, tiles=len(inputs))
        if out is not None:
            write_csv(out, records, options.topk)
            result['paths'] = [out]
        result['seconds'] = time.perf_counter() - start
        return result

    def scores(self, batch: Any) -> np.ndarray:
        """Class probabilities ``(B, K)`` of prepared images (a list), or
        of a ``(B, C, h, w)`` float array of tiles."""
        return self.backend.forward(batch)

    def _image_batch(self, images: List[np.ndarray]) -> Any:
        """What ``forward`` gets of whole images: the prepared images (a
        list) where the backend prepares them, else the images in float32
        as one ``(B, C, h, w)`` batch, or as a list where their sizes
        differ."""
        if getattr(self.backend, 'prepare', None) is not None:
            return images
        images = [image.astype(np.float32) for image in images]
        if len({image.shape for image in images}) > 1:
            return images
        return np.stack(images)

    def __call__(self, paths: Sequence[str], topk: int = 5
                 ) -> List[Dict[str, Any]]:
        """Records ``dict(file, classes=[...], scores=[...])`` (top-k)."""
        classes = self.classes
        records: List[Dict[str, Any]] = []
        progress = Progress(len(paths), 'images', self.quiet)
        prepare = getattr(self.backend, 'prepare', None)

        def prepared() -> Iterator[Tuple[str, np.ndarray]]:
            for path in paths:
                with self.open(path) as source:
                    # the pipeline's resize takes the source dtype
                    image = self.to_model_layout(source.read(), path,
                                                 dtype=None)
                if prepare is not None:
                    image = prepare(image, path)
                yield path, image

        for batch in read_ahead(self._batches(prepared())):
            probabilities = self.scores(self._image_batch(
                [item[1] for item in batch]))
            for (path, _), p in zip(batch, probabilities):
                order = np.argsort(-p)[:topk]
                records.append(dict(
                    file=path, classes=[classes[i] if i < len(classes)
                                        else str(i) for i in order],
                    scores=[float(p[i]) for i in order]))
            progress.update(len(batch))
        return records

    def class_map(self, path: str, out: Optional[str] = None,
                  tile: Optional[Tile] = None, probs: bool = False
                  ) -> DenseResult:
        """Classify every ``tile`` of a raster; returns (or writes) the
        ``(ceil(H / th), ceil(W / tw))`` class map."""
        tile = self.tile_size(tile)
        with self.open(path) as source:
            rows = -(-source.height // tile[0])
            cols = -(-source.width // tile[1])
            labels = np.empty((rows, cols), np.uint8)
            probabilities = None
            progress = Progress(rows * cols, osp.basename(path), self.quiet)
            for batch in read_ahead(self._batches(self._grid_tiles(
                    source, tile, rows, cols))):
                p = self.scores(np.stack([item[3] for item in batch]))
                if probabilities is None:
                    probabilities = np.empty((p.shape[1], rows, cols),
                                             np.float32)
                for (_, row, col, _), scores in zip(batch, p):
                    r, c = row // tile[0], col // tile[1]
                    labels[r, c] = scores.argmax()
                    probabilities[:, r, c] = scores
                progress.update(len(batch))
            result = DenseResult(labels=labels, tiles=rows * cols,
                                 seconds=progress.seconds)
            if probs:
                result['probs'] = probabilities
            if out is not None:
                grid = RasterGrid.coarsened(source, tile[1], tile[0], cols,
                                            rows)
                result['paths'] = self._write_class_map(
                    grid, out, labels, probabilities if probs else None)
        return result

    def _grid_tiles(self, source: RasterSource, tile: Tile, rows: int,
                    cols: int) -> Iterator[Tuple[int, int, int, np.ndarray]]:
        for r in range(rows):
            for c in range(cols):
                row, col = r * tile[0], c * tile[1]
                window = (row, col, min(tile[0], source.height - row),
                          min(tile[1], source.width - col))
                data = self.to_model_layout(source.read(window),
                                            source.path)
                yield r, row, col, pad_tile(data, tile)

    def _write_class_map(self, grid: RasterGrid, out: str,
                         labels: np.ndarray,
                         probabilities: Optional[np.ndarray]) -> List[str]:
        palette = self.palette()
        tags = self._label_tags()
        paths = [out]
        with GeoTiffWriter(out, grid, 1, 'uint8',
                           colormap={i: (*c, 255) for i, c in
                                     enumerate(palette)},
                           tags=tags, band_descriptions=['class']) as w:
            w.write(labels, 0, 0)
        if probabilities is not None:
            paths.append(probs_path(out))
            with GeoTiffWriter(paths[-1], grid, probabilities.shape[0],
                               'float32', tags=tags,
                               band_descriptions=self.classes) as w:
                w.write(probabilities, 0, 0)
        return paths
