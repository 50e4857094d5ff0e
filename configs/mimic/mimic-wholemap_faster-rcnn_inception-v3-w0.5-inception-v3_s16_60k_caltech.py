# Ablation: mimic the whole feature map (every cell, every image) instead of the
# regions of the student's proposals; the paper finds it worse (background
# dominates the loss).
_base_ = './mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_60k_caltech.py'

model = dict(mimic_loss=dict(mode='global'))
