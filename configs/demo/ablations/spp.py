# Finding 5 (comparison inside a region): spatial pyramid pooled region
# features (1x1, 2x2, 4x4 average bins, the paper's text) instead of the
# pixel-wise comparison the authors finally used.
_base_ = '../mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py'
model = dict(mimic_loss=dict(mode='spp'))
