# The student alone (the baseline of the mimic config): Faster R-CNN R-18-FPN,
# same FPN width (256), heads and schedule as the R-50 teacher.
_base_ = '../teachers/faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]))
