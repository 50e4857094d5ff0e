# Finding 7 (half input, training-only upsampling): the student sees the image
# at half size and keeps its stride-32 map (heads at stride 16 of their
# input); the x2 deconvolution lives only in the training adapter r, which maps
# that map onto the teacher's stride-16 map for the mimic loss and which the
# export drops. Compare with half_input_deconv (deconvolution kept).
_base_ = '../mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py'
model = dict(
    student_input_scale=0.5,
    mimic_adapter=dict(scale_factor=2))
