# Faster R-CNN on the stride-16 output (Mixed_6e) of an Inception-v3 backbone,
# one feature map as in the paper's detectors. `widen_factor` 1 is the teacher,
# initialised from mmpretrain's ImageNet Inception-v3 (its backbone keys load
# unchanged) with the stem frozen; 1/2, 1/4, 1/8 are the paper's 1/n-Inception
# students, which set init_cfg=None and frozen_stages=-1 (trained from scratch).
# Children that change the width also set the heads' in_channels:
# 768 * widen_factor.
# Pedestrian anchors and one class (Caltech); VOC configs override them.
_base_ = './faster-rcnn_r18-c3.py'
imagenet_inception_v3 = (
    'https://download.openmmlab.com/mmclassification/v0/inception-v3/'
    'inception-v3_3rdparty_8xb32_in1k_20220615-dcd4d910.pth')

model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='mmmimic.ThinInceptionV3',
        widen_factor=1.0,
        out_indices=(1, ),
        frozen_stages=0,
        pad_mode='detection',
        norm_cfg=dict(type='BN', eps=1e-3, requires_grad=True),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=imagenet_inception_v3,
                      prefix='backbone.')),
    rpn_head=dict(in_channels=768, feat_channels=768),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=768),
        bbox_head=dict(in_channels=768, fc_out_channels=1024)))
