# The paper's method on Caltech: the 1/2-Inception Faster R-CNN student mimics the
# trained Inception-v3 teacher's stride-16 map inside its own top RPN proposals
# (256 per image, 1:1 positive:negative), pixel-wise and normalised by each
# region's size, through a 1x1 conv adapter (384 -> 768 channels, training only),
# plus its ordinary detection losses.
# teacher_ckpt is where tools/train.py writes the teacher config's checkpoint;
# override with --cfg-options model.teacher_ckpt=PATH.
_base_ = '../students/faster-rcnn_inception-v3-w0.5-s16_60k_caltech.py'

model = dict(
    type='FeatureMimicDistiller',
    student_type='mmdet.FasterRCNN',  # what the export writes
    teacher_config='{{fileDirname}}/../teachers/'
    'faster-rcnn_inception-v3-s16_60k_caltech.py',
    teacher_ckpt='work_dirs/faster-rcnn_inception-v3-s16_60k_caltech/'
    'iter_60000.pth',
    mimic_adapter=dict(type='MimicAdapter', in_channels=384, out_channels=768,
                       scale_factor=1),
    mimic_sampler=dict(
        type='MimicRegionSampler', num=256, pos_fraction=0.5, pos_iou_thr=0.5,
        order='score', source='proposals'),
    mimic_loss=dict(type='RoIMimicLoss', mode='pixel', normalize=True,
                    loss_weight=1.0))
