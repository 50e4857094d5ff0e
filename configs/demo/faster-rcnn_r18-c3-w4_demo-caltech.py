# Demo student alone: the teacher's detector at 1/8 of its width (4 base
# channels: 16 at stride 16), trained from scratch on the ground truth only.
_base_ = './faster-rcnn_r18-c3-w32_demo-caltech.py'
base_channels = 4
model = dict(
    backbone=dict(base_channels=base_channels),
    rpn_head=dict(in_channels=4 * base_channels, feat_channels=4 * base_channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=4 * base_channels),
        bbox_head=dict(in_channels=4 * base_channels)))
