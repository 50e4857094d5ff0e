# Ablation: compare each region's features after spatial pyramid pooling (1x1,
# 2x2, 4x4 average bins) instead of pixel by pixel.
_base_ = './mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_60k_caltech.py'

model = dict(mimic_loss=dict(mode='spp'))
