from .lemevit_pooling import LeMeViTPooling

__all__ = ['LeMeViTPooling']
