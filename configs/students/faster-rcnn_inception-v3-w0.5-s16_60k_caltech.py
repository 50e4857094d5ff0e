# The paper's 1/2-Inception student alone (its baseline): the teacher's detector
# with every Inception convolution half as wide (384 channels at stride 16),
# trained from scratch.
_base_ = '../teachers/faster-rcnn_inception-v3-s16_60k_caltech.py'
widen_factor = 0.5
channels = 384      # 768 * widen_factor

model = dict(
    backbone=dict(widen_factor=widen_factor, frozen_stages=-1, init_cfg=None),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels)))
