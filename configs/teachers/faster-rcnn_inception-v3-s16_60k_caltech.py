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
imagenet_inception_v3 = (
    'https://download.openmmlab.com/mmclassification/v0/inception-v3/'
    'inception-v3_3rdparty_8xb32_in1k_20220615-dcd4d910.pth')

model = dict(
    backbone=dict(
        frozen_stages=0,
        init_cfg=dict(type='Pretrained', checkpoint=imagenet_inception_v3,
                      prefix='backbone.')))
