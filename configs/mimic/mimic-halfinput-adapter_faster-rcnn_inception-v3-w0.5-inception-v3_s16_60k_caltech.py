# The fast variant with the x2 deconvolution as a training-only adapter: the
# deployed student stays at stride 16 of its half-size input (stride 32 of the
# image), and the deconvolution only maps it onto the teacher's stride-16 map for
# the mimic loss. Compare with mimic-halfinput-deconv.
_base_ = './mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_60k_caltech.py'

model = dict(
    student_input_scale=0.5,
    mimic_adapter=dict(type='MimicAdapter', in_channels=384, out_channels=768,
                       scale_factor=2))
