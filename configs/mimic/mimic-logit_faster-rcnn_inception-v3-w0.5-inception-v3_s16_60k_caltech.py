# Ablation: no feature mimic; the student regresses the teacher's RPN outputs
# (classification logits and box deltas, L2), the logit-mimic baseline.
_base_ = './mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_60k_caltech.py'

model = dict(
    mimic_loss=None,
    mimic_adapter=None,
    logit_mimic=dict(type='LogitMimicLoss', cls_weight=1.0, reg_weight=1.0))
