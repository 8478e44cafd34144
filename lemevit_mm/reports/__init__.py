"""Answers one level above masks and boxes, from the outputs of two
dates: object-level change (:mod:`.objects`), from-to land-cover
transitions with areas (:mod:`.transitions`) and quicklook pictures
(:mod:`.quicklook`). ``tools/change_report.py`` is their command line.

These modules import numpy, rasterio and the package's pure modules
(:mod:`lemevit_mm.geometry`, :mod:`lemevit_mm.io`); scipy (matching) and
matplotlib (quicklooks) are imported when used; torch never.
"""
from .objects import match_objects, object_changes, run_object_report
from .transitions import run_transitions, transition_matrix

__all__ = [
    'match_objects', 'object_changes', 'run_object_report',
    'run_transitions', 'transition_matrix'
]
