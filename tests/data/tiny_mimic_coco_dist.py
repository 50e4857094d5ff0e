# tiny_mimic_coco.py for the distributed tests: no batch statistics (BN in eval
# mode), samplers that keep every candidate (so that per-rank losses equal the
# global loss when the ranks see the same images), and each rank's parameters
# saved after iteration 2 (param_dump_hook.py, tests/data on PYTHONPATH); the
# mimic losses warm up, as in tiny_mimic_coco.py.
_base_ = './tiny_mimic_coco.py'

model = dict(
    backbone=dict(norm_eval=True),
    mimic_sampler=dict(num=1000),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=100000)),
        rcnn=dict(sampler=dict(num=100000))))
train_cfg = dict(max_iters=2, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=1))
custom_imports = dict(imports=['param_dump_hook'], allow_failed_imports=False)
# the schedule hook reaches the distiller through the DDP wrapper (.module)
custom_hooks = [dict(type='RNGStateHook'),
                dict(type='MimicScheduleHook', warmup_iters=5),
                dict(type='ParamDumpHook', at_iter=2)]
env_cfg = dict(dist_cfg=dict(backend='nccl'))   # gloo without CUDA (train.py)
