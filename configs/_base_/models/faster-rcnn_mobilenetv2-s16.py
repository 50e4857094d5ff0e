# Faster R-CNN on mmpretrain's MobileNetV2 (ImageNet-style inverted residuals)
# read at its stride-16 stage (layer5: 96 channels at width 1.0), a single level
# as in the paper's detectors. DetMobileNetV2 is mmpretrain's MobileNetV2 without
# the stride-32 layers nobody reads. The heads are those of the ResNet-style
# base model; `channels` = 96 x widen_factor must follow the width.
_base_ = './faster-rcnn_r18-c3.py'
widen_factor = 1.0
channels = 96

model = dict(
    backbone=dict(
        _delete_=True,
        type='DetMobileNetV2',
        widen_factor=widen_factor,
        out_indices=(4, ),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels)))
