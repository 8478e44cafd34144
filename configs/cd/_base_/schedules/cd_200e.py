# The LeMeViT change-detection recipe: AdamW (lr 2.4e-4 for a batch of 16,
# weight decay 0.01), 200 epochs, learning rate x (1 - epoch / 201) stepped
# once per epoch as in the authors' code; validation after every epoch and
# the checkpoint with the best F1 of "changed" kept.
_base_ = [
    '../../../_base_/import_lemevit_mm.py',  # first: see that file
    'mmseg::_base_/schedules/schedule_20k.py'
]

max_epochs = 200
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=2.4e-4, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1.0,
        end_factor=1.0 / (max_epochs + 1),
        begin=0,
        end=max_epochs,
        by_epoch=True)
]
train_cfg = dict(
    _delete_=True,
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_interval=1)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=True,
        interval=1,
        max_keep_ckpts=1,
        save_best='F1',
        rule='greater'))
