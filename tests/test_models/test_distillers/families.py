"""MMDetection's two-stage detector families as mimic students: the mmdet
config each is tried with, the ResNet-18 student's changes, what the data
must hold, and the outcome expected (``works`` or the refusal's text).

docs/en/compatibility.md is checked against this table
(``test_families.py::test_the_docs_table_is_this_table``)."""
from typing import NamedTuple, Optional

R18_FPN = dict(backbone=dict(depth=18, init_cfg=None),
               neck=dict(in_channels=[64, 128, 256, 512]))
LEARNED = ('its proposals are learned boxes')


class Family(NamedTuple):
    name: str
    config: str                      # mmdet::<config>
    student: dict                    # changes that make the ResNet-18 student
    needs: tuple = ()      # 'masks', 'sem_seg'; 'no_cpu_predict': not compared
    refused: Optional[str] = None    # the refusal's text, None: works
    note: str = ''


FAMILIES = [
    Family('Faster R-CNN (FPN)', 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
           R18_FPN),
    Family('Faster R-CNN (C4)', 'faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py',
           dict(backbone=dict(depth=18, init_cfg=None),
                rpn_head=dict(in_channels=256, feat_channels=256),
                roi_head=dict(
                    shared_head=dict(depth=18),
                    bbox_roi_extractor=dict(out_channels=256),
                    bbox_head=dict(in_channels=512)))),
    Family('Faster R-CNN (DC5)', 'faster_rcnn/faster-rcnn_r50-caffe-dc5_1x_coco.py',
           dict(backbone=dict(depth=18, init_cfg=None),
                rpn_head=dict(in_channels=512, feat_channels=512),
                roi_head=dict(bbox_roi_extractor=dict(out_channels=512),
                              bbox_head=dict(in_channels=512)))),
    Family('Mask R-CNN', 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', R18_FPN,
           needs=('masks', )),
    Family('Cascade R-CNN', 'cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
           R18_FPN),
    Family('Cascade Mask R-CNN',
           'cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py', R18_FPN,
           needs=('masks', )),
    Family('HTC (without the semantic branch)',
           'htc/htc-without-semantic_r50_fpn_1x_coco.py', R18_FPN,
           needs=('masks', )),
    Family('HTC (with the semantic branch)', 'htc/htc_r50_fpn_1x_coco.py',
           R18_FPN, needs=('masks', 'sem_seg')),
    Family('SCNet', 'scnet/scnet_r50_fpn_1x_coco.py', R18_FPN,
           needs=('masks', 'sem_seg')),
    Family('PointRend', 'point_rend/point-rend_r50-caffe_fpn_ms-1x_coco.py',
           R18_FPN, needs=('masks', )),
    Family('Grid R-CNN', 'grid_rcnn/grid-rcnn_r50_fpn_gn-head_2x_coco.py',
           R18_FPN),
    Family('Mask Scoring R-CNN', 'ms_rcnn/ms-rcnn_r50-caffe_fpn_1x_coco.py',
           R18_FPN, needs=('masks', )),
    Family('Double-Head R-CNN', 'double_heads/dh-faster-rcnn_r50_fpn_1x_coco.py',
           R18_FPN),
    Family('Dynamic R-CNN', 'dynamic_rcnn/dynamic-rcnn_r50_fpn_1x_coco.py',
           R18_FPN),
    Family('GRoIE', 'groie/faste-rcnn_r50_fpn_groie_1x_coco.py', R18_FPN),
    Family('Libra R-CNN', 'libra_rcnn/libra-faster-rcnn_r50_fpn_1x_coco.py',
           dict(backbone=dict(depth=18, init_cfg=None),
                neck=[dict(type='FPN', in_channels=[64, 128, 256, 512],
                           out_channels=256, num_outs=5),
                      dict(type='BFP', in_channels=256, num_levels=5,
                           refine_level=2, refine_type='non_local')])),
    Family('PAFPN', 'pafpn/faster-rcnn_r50_pafpn_1x_coco.py', R18_FPN),
    Family('PISA', 'pisa/faster-rcnn_r50_fpn_pisa_1x_coco.py', R18_FPN),
    Family('SABL', 'sabl/sabl-faster-rcnn_r50_fpn_1x_coco.py', R18_FPN),
    Family('CrowdDet', 'crowddet/crowddet-rcnn_r50_fpn_8xb2-30e_crowdhuman.py',
           R18_FPN),
    Family('Guided Anchoring',
           'guided_anchoring/ga-faster-rcnn_r50-caffe_fpn_1x_coco.py', R18_FPN,
           needs=('no_cpu_predict', ),
           note='predictions not compared on CPU: its masked convolution '
           '(mmcv MaskedConv2d) has no CPU kernel'),
    Family('Cascade RPN',
           'cascade_rpn/cascade-rpn_faster-rcnn_r50-caffe_fpn_1x_coco.py',
           R18_FPN),
    Family('TridentNet', 'tridentnet/tridentnet_r50-caffe_1x_coco.py',
           dict(backbone=dict(init_cfg=None)),
           note='student: TridentNet R-50 too (its trident blocks are '
           'bottlenecks, so there is no ResNet-18 TridentNet); mimicked on '
           'the branch it tests with'),
    Family('Panoptic FPN', 'panoptic_fpn/panoptic-fpn_r50_fpn_1x_coco.py',
           R18_FPN, needs=('masks', 'sem_seg')),
    Family('Sparse R-CNN', 'sparse_rcnn/sparse-rcnn_r50_fpn_1x_coco.py',
           R18_FPN, refused=LEARNED),
    Family('QueryInst', 'queryinst/queryinst_r50_fpn_1x_coco.py', R18_FPN,
           refused=LEARNED),
]
