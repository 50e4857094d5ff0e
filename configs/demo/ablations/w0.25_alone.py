# Finding 8 (thinner students), its baseline: the student at a quarter of the
# teacher's width (widen factor 0.25, 24 channels at stride 16), from scratch,
# trained alone.
_base_ = '../faster-rcnn_mobilenetv2-w0.5_demo-caltech.py'
channels = 24
model = dict(
    backbone=dict(widen_factor=0.25),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels)))
