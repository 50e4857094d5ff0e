# Finding 7 (half input), its baseline: the half-width student alone on the
# image resized by 0.5 (ScaledDetDataPreprocessor); a learned x2
# deconvolution (DeconvNeck, kept at test time) brings its stride-32 map back
# to stride 16 of the image, so its heads work at stride 8 of their input.
_base_ = '../faster-rcnn_mobilenetv2-w0.5_demo-caltech.py'
model = dict(
    data_preprocessor=dict(type='mmmimic.ScaledDetDataPreprocessor',
                           input_scale=0.5),
    neck=dict(type='mmmimic.DeconvNeck', in_channels=48, scale_factor=2),
    rpn_head=dict(anchor_generator=dict(strides=[8])),
    roi_head=dict(bbox_roi_extractor=dict(featmap_strides=[8])))
