# Demo mimic student: the half-width student of faster-rcnn_r18-c3-w8 trained
# with the teacher faster-rcnn_r18-c3-w16 by feature mimic (the paper's method):
# pixel-wise, normalised mimic of the teacher's stride-16 map inside the
# student's top 256 RPN proposals (1:1 positive:negative), through a 1x1
# adapter r (32 -> 64 channels), plus the student's own detection losses.
_base_ = './faster-rcnn_r18-c3-w8_demo-caltech.py'
model = dict(
    type='FeatureMimicDistiller',
    teacher_config='{{fileDirname}}/faster-rcnn_r18-c3-w16_demo-caltech.py',
    teacher_ckpt='work_dirs/faster-rcnn_r18-c3-w16_demo-caltech/iter_1000.pth',
    mimic_adapter=dict(
        type='DeconvNeck', in_channels=32, out_channels=64, scale_factor=1),
    mimic_sampler=dict(
        type='MimicRegionSampler', num=256, pos_fraction=0.5, pos_iou_thr=0.5,
        order='score'),
    mimic_loss=dict(
        type='RoIMimicLoss', mode='pixel', normalize=True, loss_weight=1.0))
