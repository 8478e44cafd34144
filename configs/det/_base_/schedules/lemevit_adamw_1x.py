# mmrotate's 1x schedule (12 epochs, linear warm-up over 500 iterations,
# steps at epochs 8 and 11) with the LeMeViT detection optimizer: AdamW,
# lr 1e-3, weight decay 0.05, for a total batch of 8 (4 GPUs x 2).
_base_ = ['mmrotate::_base_/schedules/schedule_1x.py']

optim_wrapper = dict(
    optimizer=dict(
        _delete_=True,
        type='AdamW',
        lr=1e-3,
        betas=(0.9, 0.999),
        weight_decay=0.05))
auto_scale_lr = dict(enable=False, base_batch_size=8)
