# The paper's fast variant alone: the 1/2-Inception student on a half-size input
# (the preprocessed batch resized by 0.5), whose stride-16 map is upsampled x2 by
# a learned deconvolution (DeconvNeck, kept at test time), so that the heads work
# at stride 8 of the input = stride 16 of the original image, like the teacher's.
# Predictions come back in original image coordinates.
_base_ = './faster-rcnn_inception-v3-w0.5-s16_60k_caltech.py'
channels = 384

model = dict(
    data_preprocessor=dict(type='mmmimic.ScaledDetDataPreprocessor',
                           input_scale=0.5),
    neck=dict(type='mmmimic.DeconvNeck', in_channels=channels, scale_factor=2),
    rpn_head=dict(anchor_generator=dict(strides=[8])),
    roi_head=dict(bbox_roi_extractor=dict(featmap_strides=[8])))
