# Finding 5 (comparison inside a region): a single-size 7x7 RoIAlign of each
# region instead of the pixel-wise comparison.
_base_ = '../mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py'
model = dict(mimic_loss=dict(mode='roi_align'))
