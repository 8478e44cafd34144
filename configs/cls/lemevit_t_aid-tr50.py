# LeMeViT-tiny scene classification on AID, the recipe of
# _base_/lemevit_aid.py (data, split lists, schedule).
_base_ = ['./_base_/lemevit_aid.py']
