# Feature mimic with the tiny detector of tiny_faster-rcnn_coco.py as the teacher
# and a half-width copy of it as the student (a 1x1 adapter r matches the widths).
# Set the teacher checkpoint with --cfg-options model.teacher_ckpt=PATH.
_base_ = './tiny_faster-rcnn_coco.py'

model = dict(
    type='FeatureMimicDistiller',
    teacher_config='{{fileDirname}}/tiny_faster-rcnn_coco.py',
    teacher_ckpt=None,
    backbone=dict(base_channels=4),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(in_channels=16)),
    mimic_adapter=dict(
        type='DeconvNeck', in_channels=16, out_channels=32, scale_factor=1),
    mimic_sampler=dict(type='MimicRegionSampler', num=64),
    mimic_loss=dict(type='RoIMimicLoss', mode='pixel', loss_weight=1.0))
# the mimic losses ramp up over 5 of the 6 iterations: the resume test then
# also checks that the schedule continues where the interrupted run stopped
custom_hooks = [dict(type='RNGStateHook'),
                dict(type='MimicScheduleHook', warmup_iters=5)]
