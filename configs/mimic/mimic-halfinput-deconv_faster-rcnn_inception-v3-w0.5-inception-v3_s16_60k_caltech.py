# The paper's fast variant: the 1/2-Inception student sees the image at half size
# (the distiller resizes the student's view; the teacher sees the full image); a
# learned x2 deconvolution (DeconvNeck, part of the student, kept at test time)
# brings the student's map to stride 8 of its input = the teacher's stride 16,
# and the 1x1 adapter to the teacher's width. The student alone is
# students/faster-rcnn_inception-v3-w0.5-s16-halfinput_60k_caltech.py; the export
# turns student_input_scale into its ScaledDetDataPreprocessor.
_base_ = './mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_60k_caltech.py'

model = dict(
    student_input_scale=0.5,
    neck=dict(type='DeconvNeck', in_channels=384, scale_factor=2),
    rpn_head=dict(anchor_generator=dict(strides=[8])),
    roi_head=dict(bbox_roi_extractor=dict(featmap_strides=[8])))
