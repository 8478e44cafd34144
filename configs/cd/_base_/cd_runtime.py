# Runtime of the change-detection configs: mmseg's, with the four-panel
# change visualiser and epoch-based logging.
_base_ = [
    '../../_base_/import_lemevit_mm.py',  # first: see that file
    'mmseg::_base_/default_runtime.py'
]

custom_imports = dict(imports=['lemevit_mm'], allow_failed_imports=False)

visualizer = dict(
    type='ChangeLocalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')],
    name='visualizer')
log_processor = dict(by_epoch=True)
