# Ablation: compare each region's RoIAlign features (7x7) instead of its pixels.
_base_ = './mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_60k_caltech.py'

model = dict(mimic_loss=dict(mode='roi_align'))
