# The paper's R-FCN teacher on Caltech: R-FCN (7x7 position-sensitive score maps,
# OHEM) on Inception-v3's stride-16 map, ImageNet-initialised as the Faster R-CNN
# teacher. Writes work_dirs/rfcn_inception-v3-s16_60k_caltech/iter_60000.pth.
_base_ = [
    '../_base_/models/rfcn_inception-v3-s16.py',
    '../_base_/datasets/caltech.py',
    '../_base_/schedules/iter_60k.py',     # includes default_runtime.py
]
