# Finding 3 (regions): mimic inside the ground-truth boxes (positives) and
# random negative proposals instead of the student's own top proposals; the
# paper finds this somewhat worse.
_base_ = '../mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py'
model = dict(mimic_sampler=dict(source='gt'))
