# Ablation: no per-region normalisation, so large regions dominate the loss.
_base_ = './mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_60k_caltech.py'

model = dict(mimic_loss=dict(normalize=False))
