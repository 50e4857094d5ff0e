# Teacher for the VOC multi-level mimic: MMDetection's Faster R-CNN R-50-FPN on
# VOC 07+12 (4 epochs of the 3x repeated set, VOC 2007 test, 11-point mAP).
# Trained with `python tools/train.py configs/teachers/faster-rcnn_r50_fpn_1x_voc0712.py`
# it writes work_dirs/faster-rcnn_r50_fpn_1x_voc0712/epoch_4.pth, where the mimic
# configs look for it.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
