# LeMeViT-tiny scene classification on UC Merced, the recipe of
# _base_/lemevit_ucmerced.py (data, split lists, schedule).
_base_ = ['./_base_/lemevit_ucmerced.py']
