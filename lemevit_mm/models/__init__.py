from .backbones import LeMeViT
from .necks import LeMeViTPooling

__all__ = ['LeMeViT', 'LeMeViTPooling']
