# Feature mimic on all five FPN levels (the extension the paper's authors named):
# the R-18-FPN student mimics the trained R-50-FPN teacher inside its own top RPN
# proposals (256 per image, 1:1 positive:negative), each RoI on the FPN level of
# its scale, pixel-wise and normalised; plus its ordinary detection losses.
# The teacher checkpoint is where tools/train.py writes it for the teacher config;
# override with --cfg-options model.teacher_ckpt=PATH.
_base_ = '../students/faster-rcnn_r18_fpn_1x_voc0712.py'

model = dict(
    type='mmmimic.FeatureMimicDistiller',
    student_type='mmdet.FasterRCNN',  # what the export writes
    teacher_config='{{fileDirname}}/../teachers/faster-rcnn_r50_fpn_1x_voc0712.py',
    teacher_ckpt='work_dirs/faster-rcnn_r50_fpn_1x_voc0712/epoch_4.pth',
    mimic_sampler=dict(
        type='MimicRegionSampler', num=256, pos_fraction=0.5, pos_iou_thr=0.5,
        order='score'),
    mimic_loss=dict(
        type='RoIMimicLoss', mode='pixel', normalize=True, level_assign='scale',
        finest_scale=56, loss_weight=1.0))
