# Demo student alone: the teacher's detector at half its width (8 base channels:
# 32 at stride 16), as the paper's 1/2-Inception student, trained from scratch
# on the ground truth only.
_base_ = './faster-rcnn_r18-c3-w16_demo-caltech.py'
base_channels = 8
model = dict(
    backbone=dict(base_channels=base_channels),
    rpn_head=dict(in_channels=4 * base_channels, feat_channels=4 * base_channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=4 * base_channels),
        bbox_head=dict(in_channels=4 * base_channels)))
