# Finding 7 (half input, deconvolution kept): the demo's mimic with the
# student seeing the image at half size; its learned x2 deconvolution
# (DeconvNeck, part of the deployed student) brings its map to the teacher's
# stride 16, then the 1x1 adapter to the teacher's width. The paper: learns
# well by mimic, much faster, and keeping the deconvolution helps small objects.
_base_ = '../mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py'
model = dict(
    student_input_scale=0.5,
    neck=dict(type='mmmimic.DeconvNeck', in_channels=48, scale_factor=2),
    rpn_head=dict(anchor_generator=dict(strides=[8])),
    roi_head=dict(bbox_roi_extractor=dict(featmap_strides=[8])))
