# Demo teacher: Faster R-CNN on a ResNet-18-style stride-16 backbone with 16 base
# channels (a quarter of ResNet-18's 64; 64 channels at stride 16), trained from
# scratch on the demo dataset at its full 640x480 resolution.
_base_ = [
    '../_base_/models/faster-rcnn_r18-c3.py',
    '../_base_/datasets/demo_caltech.py',
    '../_base_/schedules/demo_iters.py', '../_base_/default_runtime.py'
]
base_channels = 16
model = dict(
    backbone=dict(base_channels=base_channels),
    rpn_head=dict(in_channels=4 * base_channels, feat_channels=4 * base_channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=4 * base_channels),
        bbox_head=dict(in_channels=4 * base_channels)))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000,
                    max_keep_ckpts=1))
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
