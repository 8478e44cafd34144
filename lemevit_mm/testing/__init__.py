"""Test fixtures of lemevit-mm: synthetic data in every format and the
seeded reference.

Nothing in the product imports this package; the test suite, ``make demo``
and the tools' ``--synthetic`` options do. Its modules import only what
they need, so ``import lemevit_mm.testing`` is cheap:

- :mod:`.rasters`: :func:`~.rasters.write_tiff`, (Geo)TIFF files of
  arrays through the project's GeoTIFF writer;
- :mod:`.seg`: a synthetic ISPRS Potsdam / Vaihingen (converted layout and
  the official archives);
- :mod:`.sentinel2`: a synthetic 13-band Sentinel-2 land-cover sample;
- :mod:`.det`: a synthetic DOTA-v1.0 dataset;
- :mod:`.cd`: a synthetic change-detection dataset (CDD, LEVIR-CD);
- :mod:`.cls`: a tiny ImageNet-style dataset;
- :mod:`.seeded_reference`: the seeded weights and the authors' outputs;
- :mod:`.reference_models`: the authors' classifier without mmpretrain.
"""
