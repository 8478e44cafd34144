import os.path as osp

from setuptools import find_packages, setup


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


setup(
    name='lemevit_mm',
    version=read_version(),
    description='LeMeViT (IJCAI 2024) for OpenMMLab: classification, '
    'segmentation, oriented detection and change detection',
    long_description=open('README.md').read() if osp.exists('README.md')
    else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=('lemevit_mm', 'lemevit_mm.*')),
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
        'tests': ['pytest', 'onnx', 'onnxruntime', 'onnxscript'],
    },
    license='Apache-2.0',
    zip_safe=False,
)
