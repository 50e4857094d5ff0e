# 60k iterations at a total batch of 8 images (4 GPUs x 2 images): about 11 passes
# over Caltech train-10x (about 42.8k images). SGD with linear warm-up and steps at
# 40k and 55k; --auto-scale-lr rescales lr for another total batch. Our schedule:
# the paper gives no iteration counts for its Caltech runs. It includes the
# default runtime (iteration-based checkpoints and logs override it).
_base_ = '../default_runtime.py'
max_iters = 60000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[40000, 55000], gamma=0.1),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000,
                    max_keep_ckpts=3))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
