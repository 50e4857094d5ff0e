# The paper's method for R-FCN: the 1/2-Inception R-FCN student mimics the trained
# Inception-v3 R-FCN teacher inside its own proposals (pixel-wise, normalised).
_base_ = '../students/rfcn_inception-v3-w0.5-s16_60k_caltech.py'

model = dict(
    type='FeatureMimicDistiller',
    student_type='mmdet.FasterRCNN',  # what the export writes
    teacher_config='{{fileDirname}}/../teachers/rfcn_inception-v3-s16_60k_caltech.py',
    teacher_ckpt='work_dirs/rfcn_inception-v3-s16_60k_caltech/iter_60000.pth',
    mimic_adapter=dict(type='MimicAdapter', in_channels=384, out_channels=768,
                       scale_factor=1),
    mimic_sampler=dict(
        type='MimicRegionSampler', num=256, pos_fraction=0.5, pos_iou_thr=0.5,
        order='score', source='proposals'),
    mimic_loss=dict(type='RoIMimicLoss', mode='pixel', normalize=True,
                    loss_weight=1.0))
