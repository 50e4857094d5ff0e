# Finding 1 (whole map): mimic the whole stride-16 feature map of every image
# instead of regions of the student's proposals; the paper finds it does not
# work (the map is mostly background, objects respond weakly in it).
# Only the region choice changes: every cell of every image is one region,
# normalised as the demo's regions are (a mean over elements).
_base_ = '../mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py'
# Its loss has another scale (many more cells per image than regions): the
# weight 500 was chosen on seed 0 by the demo's rule, from 5 / 50 / 500 / 5000
# (MR-2 64.09 / 38.55 / 23.74 / 68.16 %, configs/demo/README.md).
model = dict(mimic_loss=dict(mode='global', loss_weight=500))
