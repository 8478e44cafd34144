# The first base of every config here that inherits `mmseg::` bases: it
# imports lemevit_mm while the config is read. MMEngine reads the bases of
# a `_base_` list in order, and a config's `custom_imports` run only after
# all of them are read; under the OneDL distributions MMEngine finds
# `mmseg::` files only once lemevit_mm has mended its scope table
# (lemevit_mm/utils/config_scopes.py). So these configs read in any
# program, mmseg's own tools/train.py too, on both OpenMMLab stacks.
# It adds no key to the config.
__import__('lemevit_mm')
