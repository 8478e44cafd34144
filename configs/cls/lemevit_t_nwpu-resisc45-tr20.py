# LeMeViT-tiny scene classification on NWPU-RESISC45, the recipe of
# _base_/lemevit_nwpu_resisc45.py (data, split lists, schedule).
_base_ = ['./_base_/lemevit_nwpu_resisc45.py']
