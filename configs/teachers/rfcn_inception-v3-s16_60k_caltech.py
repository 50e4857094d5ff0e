# The paper's R-FCN teacher on Caltech: R-FCN (7x7 position-sensitive score maps,
# OHEM) on Inception-v3's stride-16 map, ImageNet-initialised as the Faster R-CNN
# teacher. Writes work_dirs/rfcn_inception-v3-s16_60k_caltech/iter_60000.pth.
_base_ = [
    '../_base_/models/rfcn_inception-v3-s16.py',
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
