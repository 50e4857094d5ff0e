# Faster R-CNN on the stride-16 output (Mixed_6e) of an Inception-v3 backbone,
# one feature map as in the paper's detectors. `widen_factor` 1 is the teacher
# (ImageNet-initialised through backbone.init_cfg in the teacher configs), 1/2,
# 1/4, 1/8 the paper's 1/n-Inception students (trained from scratch). Children
# that change the width also set the heads' in_channels: 768 * widen_factor.
# Pedestrian anchors and one class (Caltech); VOC configs override them.
_base_ = './faster-rcnn_r18-c3.py'

model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='mmmimic.ThinInceptionV3',
        widen_factor=1.0,
        out_indices=(1, ),
        frozen_stages=-1,
        pad_mode='detection',
        norm_cfg=dict(type='BN', eps=1e-3, requires_grad=True),
        norm_eval=False),
    rpn_head=dict(in_channels=768, feat_channels=768),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=768),
        bbox_head=dict(in_channels=768, fc_out_channels=1024)))
