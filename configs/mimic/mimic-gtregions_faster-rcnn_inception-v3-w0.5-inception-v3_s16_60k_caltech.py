# Ablation: mimic inside the ground-truth boxes (and random negative proposals)
# instead of the student's own proposals.
_base_ = './mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_60k_caltech.py'

model = dict(mimic_sampler=dict(source='gt'))
