# Finding 1 (whole map): mimic the whole stride-16 feature map of every image
# instead of regions of the student's proposals; the paper finds it does not
# work (the map is mostly background, objects respond weakly in it).
# Only the region choice changes: every cell of every image is one region,
# normalised as the demo's regions are (a mean over elements).
_base_ = '../mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py'
model = dict(mimic_loss=dict(mode='global'))
