# A user's MMDetection config with feature mimic mixed in: everything inherited
# from mmdet (scope mmdet), the distiller and its loss taken from mmmimic.
# Student R-18-FPN, teacher R-50-FPN: five FPN levels of 256 channels each.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

model = dict(
    type='mmmimic.FeatureMimicDistiller',
    teacher_config='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    teacher_ckpt=None,
    mimic_loss=dict(type='RoIMimicLoss', level_assign='scale'),
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]))
