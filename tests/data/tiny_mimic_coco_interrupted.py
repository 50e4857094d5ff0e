# tiny_mimic_coco.py, stopped like Ctrl-C after iteration 3 (resume tests)
_base_ = './tiny_mimic_coco.py'
custom_imports = dict(imports=['interrupt_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='RNGStateHook'),
                dict(type='MimicScheduleHook', warmup_iters=5),
                dict(type='InterruptHook', at_iter=3)]
