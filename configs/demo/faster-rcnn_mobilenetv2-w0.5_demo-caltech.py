# Demo student alone: the teacher's detector on MobileNetV2 at half its width
# (widen_factor 0.5: 48 channels at stride 16), as the paper's 1/2-Inception
# student, trained from scratch (no ImageNet: the thin network has none) on the
# ground truth only.
_base_ = './faster-rcnn_mobilenetv2-w1.0-in1k_demo-caltech.py'
channels = 48
model = dict(
    backbone=dict(widen_factor=0.5, init_cfg=None),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels)))
