"""Analysis of models: specs named on a command line, throughput and
FLOPs, meta-token attention maps, the scene-inference and band-adaptation
benchmarks and the GPU check.

The library behind ``tools/analysis_tools/*`` and ``tools/gpu_check.py``
(which parse their arguments and call it). Its modules import torch and
the OpenMMLab packages only where they need them. Of the rest of the
package only the export (:mod:`lemevit_mm.deploy`) uses it, for the model
specs.
"""
