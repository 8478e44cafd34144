import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

# The start-up hook (see _lemevit_mm_startup.py): a `.pth` file at the top
# of the wheel lands in site-packages, where Python runs its import line
# at start-up. It goes into both wheels, the regular one and the editable
# one of `pip install -e .` (whose build copies no package file).
STARTUP_PTH = 'lemevit_mm_startup.pth'


class BuildPyWithStartupHook(build_py):
    """build_py that also puts the start-up `.pth` file into the wheel."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            self.copy_file(STARTUP_PTH, osp.join(self.build_lib, STARTUP_PTH))

    def get_outputs(self, include_bytecode: bool = True) -> list:
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return outputs + [osp.join(self.build_lib, STARTUP_PTH)]


class EditableWheelWithStartupHook(editable_wheel):
    """editable_wheel that also puts the start-up `.pth` file into the
    wheel (setuptools writes only its own path hook there)."""

    def _run_build_commands(self, dist_name, unpacked_wheel, build_lib,
                            tmp_dir):
        result = super()._run_build_commands(dist_name, unpacked_wheel,
                                             build_lib, tmp_dir)
        shutil.copy(STARTUP_PTH, osp.join(unpacked_wheel, STARTUP_PTH))
        return result


def read_version() -> str:
    scope: dict = {}
    with open(osp.join('lemevit_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(stack: str) -> list:
    """The pins of one OpenMMLab stack, ``requirements/<stack>.txt`` (the
    file ``tools/install.sh`` installs from)."""
    with open(osp.join('requirements', f'{stack}.txt')) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


DEPLOY = ['onnx', 'onnxruntime', 'openvino']
ARCHIVE = ['rio-cogeo', 'pystac', 'rio-stac']
REPORTS = ['matplotlib', 'scipy']

setup(
    name='lemevit_mm',
    version=read_version(),
    description='LeMeViT (IJCAI 2024) for OpenMMLab: classification, '
    'segmentation, oriented detection and change detection',
    long_description=open('README.md').read() if osp.exists('README.md')
    else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=('lemevit_mm', 'lemevit_mm.*')),
    # the start-up hook: mends MMEngine's config scope table in every
    # process (`mmseg::` bases on the OneDL stack); LEMEVIT_SCOPE_HOOK=0
    # turns it off
    py_modules=['_lemevit_mm_startup'],
    cmdclass={
        'build_py': BuildPyWithStartupHook,
        'editable_wheel': EditableWheelWithStartupHook,
    },
    python_requires='>=3.10',
    # The OpenMMLab packages come as one of two stacks that install the
    # same modules under different distribution names (never both):
    # `pip install -e .[openmmlab]` or `.[onedl]`; `make install STACK=...`
    # also builds mmcv's ops.
    install_requires=[
        'torch>=2.0',
        'torchvision',
        'rasterio',
    ],
    extras_require={
        'openmmlab': read_requirements('openmmlab'),
        'onedl': read_requirements('onedl'),
        'flash': ['flash-attn'],
        'xformers': ['xformers'],
        # exported models on ONNX Runtime / OpenVINO (lemevit_mm.deploy)
        'deploy': DEPLOY,
        # Cloud Optimized GeoTIFFs and STAC records of archive inference
        'archive': ARCHIVE,
        # change reports: optimal matching, quicklook figures
        'reports': REPORTS,
        'tests': ['pytest', 'onnx', 'onnxscript'] + DEPLOY + ARCHIVE +
        REPORTS,
    },
    license='Apache-2.0',
    zip_safe=False,
)
