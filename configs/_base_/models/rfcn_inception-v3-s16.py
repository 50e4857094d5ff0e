# R-FCN (Dai et al., 2016) on the stride-16 output of an Inception-v3 backbone:
# the paper's second detector. The RPN is the Faster R-CNN base's; the RoI head
# is position-sensitive score maps (k x k x (classes + 1) and class-agnostic
# k x k x 4) on a 1x1 reduction of the shared map, PS RoI pooling and voting.
# Children that change the width set rpn_head / bbox_head in_channels to
# 768 * widen_factor.
_base_ = './faster-rcnn_inception-v3-s16.py'

model = dict(
    roi_head=dict(
        _delete_=True,
        type='mmmimic.RFCNRoIHead',
        bbox_roi_extractor=dict(
            type='mmmimic.PSRoIExtractor',
            roi_layer=dict(type='PSRoIPool', output_size=7),
            featmap_strides=[16]),
        bbox_head=dict(
            type='mmmimic.RFCNBBoxHead',
            in_channels=768,
            reduce_channels=1024,
            group_size=7,
            num_classes=1,
            reg_class_agnostic=True,
            bbox_coder=dict(
                type='mmdet.DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(
                type='mmdet.CrossEntropyLoss', use_sigmoid=False,
                loss_weight=1.0),
            loss_bbox=dict(type='mmdet.L1Loss', loss_weight=1.0))),
    # R-FCN trains on all proposals with online hard example mining: the 128
    # RoIs of largest loss per image (score maps make every RoI cheap)
    train_cfg=dict(
        rcnn=dict(
            sampler=dict(
                _delete_=True,
                type='mmdet.OHEMSampler',
                num=128,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True))))
