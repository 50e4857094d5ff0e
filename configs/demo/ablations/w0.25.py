# Finding 8 (thinner students): the quarter-width student (w0.25_alone) trained
# by the demo's feature mimic; only the adapter r follows the width (24 -> 96).
_base_ = '../mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py'
channels = 24
model = dict(
    backbone=dict(widen_factor=0.25),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels)),
    mimic_adapter=dict(in_channels=channels))
