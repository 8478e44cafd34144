# lemevit-mm: the commands a newcomer needs.
PYTHON ?= python3
# STACK=onedl | openmmlab (see tools/install.sh); unset: the stack this
# Python already has, else onedl.
export PYTHON STACK

.PHONY: install test demo

install:  ## Install torch, an OpenMMLab stack (mmcv with ops) and lemevit_mm
	bash tools/install.sh

test: install  ## Install if needed, then run the test suite
	$(PYTHON) -m pytest tests

demo: install  ## Install if needed, then train + evaluate on a bundled sample
	$(PYTHON) tools/demo.py

.PHONY: gpu-wheels
gpu-wheels:  ## Wheels (mmengine, mmcv-lite) for tools/gpu_check.sh on an offline GPU
	bash tools/gpu_wheels.sh
