# The paper's two-stage mimic: feature mimic plus the teacher's second-stage
# outputs on the mimic regions as soft targets (KL on class scores at
# temperature 1, L2 on the boxes of positive regions).
_base_ = './mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_60k_caltech.py'

model = dict(
    stage2_mimic=dict(type='Stage2MimicLoss', cls_weight=1.0, reg_weight=1.0,
                      cls_loss='kl', temperature=1.0))
