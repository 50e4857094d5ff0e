# Feature mimic mixed into a stock MMDetection config: start from the student's
# MMDetection config, change model.type, name the teacher, thin the backbone.
# The mmdet scope stays; custom_imports brings mmmimic in, so MMDetection's own
# tools/train.py trains it as well as ours:
#   python tools/train.py configs/mimic/mimic_faster-rcnn_r18-r50_fpn_1x_coco.py
#   python $(python -c "import mmdet, os; print(os.path.dirname(mmdet.__file__))")/.mim/tools/train.py configs/mimic/mimic_faster-rcnn_r18-r50_fpn_1x_coco.py
# The teacher is MMDetection's Faster R-CNN R-50-FPN 1x; teacher_ckpt is where
# training that config writes its last checkpoint (or the model zoo's file).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmmimic'], allow_failed_imports=False)

model = dict(
    type='mmmimic.FeatureMimicDistiller',
    student_type='mmdet.FasterRCNN',  # what the export writes
    teacher_config='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    teacher_ckpt='work_dirs/faster-rcnn_r50_fpn_1x_coco/epoch_12.pth',
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]),
    mimic_sampler=dict(type='mmmimic.MimicRegionSampler', num=256,
                       pos_fraction=0.5, order='score'),
    mimic_loss=dict(type='mmmimic.RoIMimicLoss', mode='pixel', normalize=True,
                    level_assign='scale', loss_weight=1.0))
