"""Prepare iSAID for ``configs/seg/lemevit_*_upernet_isaid.py``.

SOURCE is the download: ``train/images/part{1,2,3}.zip`` (the DOTA
images), ``train/Semantic_masks/images.zip`` (colour masks
``P0000_instance_color_RGB.png``), ``val/...`` likewise and
``test/images/part*.zip``, zipped or extracted, at any depth. As mmseg's
converter, train and val images are cut into 896x896 patches with an
overlap of 384 and the colours become class ids 0-15 (255: padding and
unknown colours, ignored, listed); test images are copied whole::

    OUT/img_dir/{train,val,test}/  OUT/ann_dir/{train,val}/

Example::

    python tools/dataset_converters/isaid.py /downloads/iSAID data/iSAID
"""
import argparse
import sys

from lemevit_mm.seg.benchmark_conversion import convert_isaid


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('source', help='iSAID download (folder or zip)')
    parser.add_argument('out', help='output data root')
    parser.add_argument('--patch-size', type=int, default=896)
    parser.add_argument('--overlap', type=int, default=384)
    args = parser.parse_args(argv)
    try:
        report = convert_isaid(args.source, args.out, args.patch_size,
                               args.overlap)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    for problem in report.problems:
        print(problem)
    counts = ', '.join(f'{k} {v}' for k, v in report.images.items())
    print(f'iSAID -> {args.out}: {counts} patches/images; '
          f'{len(report.problems)} problem(s).')


if __name__ == '__main__':
    main()
