from .backbones import LeMeViT
from .lemevit_classifier import lemevit_backbone, lemevit_classifier
from .necks import LeMeViTPooling

__all__ = ['LeMeViT', 'LeMeViTPooling', 'lemevit_backbone',
           'lemevit_classifier']
