# Finding 3 (regions), a follow-up: the student's own proposals as the demo
# uses them (IoU >= 0.5 positives, 1:1), but taken at random instead of the
# highest-scoring first, so that the negatives spread over the background as
# gt_regions' random negatives do; the paper's sampler takes the top proposals.
# It tests why gt_regions and wholemap beat the top proposals on this data.
_base_ = '../mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py'
model = dict(mimic_sampler=dict(order='random'))
