# The paper's teacher on Caltech: Faster R-CNN on Inception-v3's stride-16 map
# (Mixed_6e, 768 channels), initialised from mmpretrain's ImageNet Inception-v3
# (its backbone keys load unchanged), train-10x, MR-2 on Reasonable.
#   python tools/train.py configs/teachers/faster-rcnn_inception-v3-s16_60k_caltech.py
# writes work_dirs/faster-rcnn_inception-v3-s16_60k_caltech/iter_60000.pth, where
# the mimic configs look for it.
_base_ = [
    '../_base_/models/faster-rcnn_inception-v3-s16.py',
    '../_base_/datasets/caltech.py',
    '../_base_/schedules/iter_60k.py',     # includes default_runtime.py
]
