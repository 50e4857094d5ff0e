# Finding 4 (normalisation): each region's squared error is not divided by its
# number of elements, so large proposals dominate; the paper needed the
# normalisation for stable training.
_base_ = '../mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py'
model = dict(mimic_loss=dict(normalize=False))
