# Finding 6 (two-stage mimic): the demo's feature mimic plus the teacher's
# second-stage classification (KL at temperature 1) and box regression (L2 on
# positive regions) on the mimic regions as targets of the student's Fast
# R-CNN stage; the paper finds this better than feature mimic alone.
_base_ = '../mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py'
model = dict(
    stage2_mimic=dict(type='Stage2MimicLoss', cls_weight=1.0, reg_weight=1.0,
                      cls_loss='kl', temperature=1.0))
