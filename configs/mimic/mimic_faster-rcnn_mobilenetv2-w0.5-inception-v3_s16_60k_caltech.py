# A student from MMPretrain: MobileNetV2 at width 0.5, its stride-16 stage
# (48 channels), mimicking the Inception-v3 Faster R-CNN teacher. Any backbone
# of another OpenMMLab package works with its scope prefix.
_base_ = './mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_60k_caltech.py'
channels = 48

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.MobileNetV2',
        widen_factor=0.5,
        out_indices=(4, ),
        norm_cfg=dict(type='BN', requires_grad=True)),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels)),
    mimic_adapter=dict(in_channels=channels))
