# The paper's 1/8-Inception R-FCN student alone (96 channels at stride 16), from
# scratch.
_base_ = './rfcn_inception-v3-w0.5-s16_60k_caltech.py'
widen_factor = 0.125
channels = 96

model = dict(
    backbone=dict(widen_factor=widen_factor),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(bbox_head=dict(in_channels=channels)))
