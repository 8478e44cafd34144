from .lemevit import LeMeViT

__all__ = ['LeMeViT']
