import os.path as osp

from setuptools import find_packages, setup


def read_version() -> str:
    scope: dict = {}
    with open(osp.join('lemevit_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='lemevit_mm',
    version=read_version(),
    description='LeMeViT (IJCAI 2024) for OpenMMLab: classification, '
    'segmentation, oriented detection and change detection',
    long_description=open('README.md').read() if osp.exists('README.md')
    else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=('lemevit_mm', 'lemevit_mm.*')),
    python_requires='>=3.8',
    install_requires=[
        'torch>=2.0',
        'torchvision',
        'mmengine==0.11.0rc3',
        'mmcv==2.0.1',
        'mmdet==3.1.0',
        'mmrotate==1.0.0rc1',
        'mmsegmentation==1.2.2',
        'mmpretrain==1.2.0',
        'einops',
        'ftfy',
        'regex',
        'e2cnn',
        'rasterio',
    ],
    extras_require={
        'flash': ['flash-attn'],
        'xformers': ['xformers'],
        'tests': ['pytest', 'onnx', 'onnxruntime', 'onnxscript'],
    },
    license='Apache-2.0',
    zip_safe=False,
)
