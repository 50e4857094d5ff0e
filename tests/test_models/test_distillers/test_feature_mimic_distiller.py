"""FeatureMimicDistiller: teacher handling, the training step, bad input,
scaling, scopes (its build-time checks: test_mimic_checks.py)."""
import copy

import pytest
import torch
from mmdet.models.detectors import TwoStageDetector
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS
from mmmimic.utils import register_all_modules

from .._tiny import (
    batch,
    build,
    distiller_cfg,
    tiny_detector,
    training_distiller,
)

register_all_modules()


def test_teacher_loaded_frozen_and_hidden(tiny_teacher_ckpt):
    path, state = tiny_teacher_ckpt
    model = build(distiller_cfg(path))
    assert not model._teacher_loaded   # not at build time: test needs none
    model.train()
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert not any(k.startswith('teacher') for k in model.state_dict())
    teacher_params = {id(p) for p in model.teacher.parameters()}
    assert not teacher_params & {id(p) for p in model.parameters()}
    assert all(not p.requires_grad for p in model.teacher.parameters())
    model.train()
    assert model.training and not model.teacher.training
    model.init_weights()
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, state[key]), key
    model.to(torch.float64)
    assert next(model.teacher.parameters()).dtype == torch.float64


def test_training_step_teacher_unchanged_and_mimic_decreases(tiny_teacher_ckpt):
    path, _ = tiny_teacher_ckpt
    torch.manual_seed(0)
    model = build(distiller_cfg(path))
    model.init_weights()
    model.train()
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    student_before = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    inputs, samples = batch(model)
    mimic = []
    for _ in range(10):
        losses = model.loss(inputs, samples)
        assert set(losses) >= {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls',
                               'loss_bbox', 'loss_mimic'}
        mimic.append(losses['loss_mimic'].item())
        total, _ = model.parse_losses(losses)
        optimizer.zero_grad()
        total.backward()
        assert all(p.grad is None for p in model.teacher.parameters())
        optimizer.step()
    assert mimic[-1] < 0.8 * mimic[0], mimic
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_before[key]), key
    changed = [k for k, v in model.state_dict().items()
               if v.dtype.is_floating_point
               and not torch.equal(v, student_before[k])]
    assert any(k.startswith('mimic_adapter') for k in changed)
    assert any(k.startswith('backbone') for k in changed)


def test_images_without_gt_and_all_ignored_train(tiny_teacher_ckpt):
    model = build(distiller_cfg(tiny_teacher_ckpt[0]))
    model.train()
    inputs, samples = batch(model, num_items=(0, 2))
    # second image: every box ignored
    from mmengine.structures import InstanceData
    gt = samples[1].gt_instances
    samples[1].ignored_instances = InstanceData(bboxes=gt.bboxes,
                                                labels=gt.labels)
    samples[1].gt_instances = gt[gt.labels < 0]
    losses = model.loss(inputs, samples)
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()


def test_predict_is_the_students(tiny_teacher_ckpt):
    torch.manual_seed(1)
    model = build(distiller_cfg(tiny_teacher_ckpt[0]))
    model.eval()
    student = build(tiny_detector(8))
    student.load_state_dict(
        {k: v for k, v in model.state_dict().items()
         if not k.startswith('mimic_adapter')})
    student.eval()
    inputs, samples = batch(model, training=False)
    with torch.no_grad():
        ours = model.predict(inputs, copy.deepcopy(samples))
        theirs = student.predict(inputs, copy.deepcopy(samples))
    for a, b in zip(ours, theirs):
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)


def test_half_scale_student_with_deconv_neck(tiny_teacher_ckpt):
    """The student runs at half resolution and upsamples x2 inside its neck:
    maps align with the teacher's, predictions come back in image pixels."""
    torch.manual_seed(2)
    cfg = distiller_cfg(tiny_teacher_ckpt[0], student_input_scale=0.5)
    # the student's neck keeps the upsampling (deployed), stride 16 -> 8 on
    # its half-size input = 16 in image pixels
    cfg['neck'] = dict(type='DeconvNeck', in_channels=32, scale_factor=2)
    cfg['rpn_head']['anchor_generator']['strides'] = [8]
    cfg['roi_head']['bbox_roi_extractor']['featmap_strides'] = [8]
    model = build(cfg)
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    total, _ = model.parse_losses(losses)
    total.backward()
    assert torch.isfinite(losses['loss_mimic'])

    # predictions equal the plain student's on a half-size copy with scaled metas
    model.eval()
    inputs, samples = batch(model, training=False)
    plain = dict(tiny_detector(8), neck=cfg['neck'], rpn_head=cfg['rpn_head'],
                 roi_head=cfg['roi_head'])
    student = build(plain)
    student.load_state_dict(
        {k: v for k, v in model.state_dict().items()
         if not k.startswith('mimic_adapter')})
    student.eval()
    half = torch.nn.functional.interpolate(inputs, scale_factor=0.5,
                                           mode='bilinear', align_corners=False)
    half_samples = copy.deepcopy(samples)
    for s in half_samples:
        h, w = s.img_shape
        sf = s.scale_factor
        s.set_metainfo(dict(img_shape=(h // 2, w // 2),
                            pad_shape=(h // 2, w // 2),
                            batch_input_shape=tuple(half.shape[-2:]),
                            scale_factor=(sf[0] * 0.5, sf[1] * 0.5)))
    with torch.no_grad():
        ours = model.predict(inputs, copy.deepcopy(samples))
        theirs = student.predict(half, half_samples)
    for a, b, s in zip(ours, theirs, samples):
        assert torch.allclose(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert a.img_shape == s.img_shape
        boxes = a.pred_instances.bboxes
        if len(boxes):
            assert boxes[:, 2].max() <= s.ori_shape[1] + 1e-3


def test_stage2_and_logit_mimic_grads_only_into_student(tiny_teacher_ckpt):
    model = build(distiller_cfg(
        tiny_teacher_ckpt[0],
        stage2_mimic=dict(type='Stage2MimicLoss', cls_loss='kl',
                          temperature=2.0),
        student_base=16, teacher_base=16,
        logit_mimic=dict(type='LogitMimicLoss')))
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    for key in ('loss_mimic_s2_cls', 'loss_mimic_s2_reg',
                'loss_mimic_logit_cls', 'loss_mimic_logit_reg'):
        assert torch.isfinite(losses[key]), key
    total, _ = model.parse_losses(losses)
    total.backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.roi_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0

    zero_reg = build(distiller_cfg(
        tiny_teacher_ckpt[0], student_base=16, teacher_base=16,
        logit_mimic=dict(type='LogitMimicLoss', reg_weight=0.0)))
    zero_reg.train()
    logit = zero_reg.loss(inputs, samples)
    assert logit['loss_mimic_logit_reg'].item() == 0.0
    assert logit['loss_mimic_logit_cls'].item() > 0.0

    l2 = build(distiller_cfg(
        tiny_teacher_ckpt[0],
        stage2_mimic=dict(type='Stage2MimicLoss', cls_loss='l2'),
        student_base=16, teacher_base=16))
    l2.train()
    assert torch.isfinite(l2.loss(inputs, samples)['loss_mimic_s2_cls'])


@pytest.mark.parametrize('key', ['mimic_warmup_iters', 'mimic_fade_iters'])
def test_schedule_keys_on_the_model_point_at_the_hook(tiny_teacher_ckpt, key):
    with pytest.raises(ValueError, match=f'model.{key} moved to a hook.*'
                       'MimicScheduleHook'):
        build(distiller_cfg(tiny_teacher_ckpt[0], **{key: 10}))


# -- bad input ------------------------------------------------------------------
def test_missing_teacher_checkpoint_only_matters_for_training():
    """Build, test mode and predict need no teacher checkpoint; train() and the
    first teacher use say which key to fix."""
    model = build(distiller_cfg('work_dirs/nope/iter_100.pth'))
    model.eval()
    model.predict(*batch(model))
    with pytest.raises(FileNotFoundError, match='model.teacher_ckpt=.*no such '
                       'file.*--cfg-options model.teacher_ckpt=PATH'):
        model.train()
    with pytest.raises(FileNotFoundError, match='model.teacher_ckpt'):
        model.teacher_inputs(batch(model)[0])


def test_teacher_weights_load_once_on_device_and_dtype(tiny_teacher_ckpt):
    path, state = tiny_teacher_ckpt
    model = build(distiller_cfg(path)).to(torch.float64)
    model.train()
    first = next(model.teacher.parameters())
    assert first.dtype == torch.float64
    assert all(torch.equal(v.double() if v.is_floating_point() else v,
                           state[k].double() if v.is_floating_point()
                           else state[k])
               for k, v in model.teacher.state_dict().items())
    model.eval()
    model.train()   # no second read: the same tensors
    assert next(model.teacher.parameters()) is first


def test_teacher_checkpoint_of_another_model(tmp_path):
    from mmmimic.utils.safe_load import CheckpointMismatchError
    other = build(tiny_detector(8))   # the student's size, not 16
    path = tmp_path / 'other.pth'
    torch.save(dict(state_dict=other.state_dict()), path)
    with pytest.raises(CheckpointMismatchError,
                       match=r'model.teacher_ckpt=.*another model.*with '
                       r'another shape.*in the file.*in the model'):
        build(distiller_cfg(str(path))).train()
    partial = {k: v for k, v in build(tiny_detector(16)).state_dict()
               .items() if not k.startswith('roi_head')}
    torch.save(dict(state_dict=partial), path)
    with pytest.raises(ValueError, match=r'missing from the file.*roi_head'):
        build(distiller_cfg(str(path))).train()


def test_damaged_teacher_checkpoint_names_the_key(tmp_path):
    from mmmimic.utils.safe_load import DamagedCheckpointError
    path = tmp_path / 'teacher.pth'
    path.write_bytes(b'')
    with pytest.raises(DamagedCheckpointError,
                       match=r"model.teacher_ckpt='.*teacher.pth'.*empty file"):
        build(distiller_cfg(str(path))).train()


def test_unresolvable_teacher_config():
    with pytest.raises(FileNotFoundError, match='teacher_config'):
        build(dict(distiller_cfg(), teacher_config='configs/no/such.py'))
    with pytest.raises(FileNotFoundError, match='teacher_config'):
        build(dict(distiller_cfg(), teacher_config='mmdet::no/such.py'))
    with pytest.raises(ValueError, match='teacher_config must be'):
        build(dict(distiller_cfg(), teacher_config=dict(lr=0.1)))


def test_channel_mismatch_without_adapter_names_shapes(tiny_teacher_ckpt):
    cfg = distiller_cfg(tiny_teacher_ckpt[0])
    cfg.pop('mimic_adapter')
    model = build(cfg)
    model.train()
    inputs, samples = batch(model)
    with pytest.raises(ValueError, match=r'\(2, 32, .*\(2, 64, .*mimic_adapter'):
        model.loss(inputs, samples)


def test_stride_mismatch_names_the_fix(tiny_teacher_ckpt):
    with pytest.raises(ValueError, match='student_input_scale'):
        build(distiller_cfg(tiny_teacher_ckpt[0], student_input_scale=0.5))


def test_level_count_mismatch_asks_for_mimic_levels(tiny_teacher_ckpt):
    """A two-level teacher (strides 8 and 16 through an FPN), a one-level
    student."""
    cfg = distiller_cfg(tiny_teacher_ckpt[0])
    teacher = cfg['teacher_config']['model']
    teacher['backbone']['out_indices'] = (1, 2)
    teacher['neck'] = dict(type='mmdet.FPN', in_channels=[32, 64],
                           out_channels=64, num_outs=2)
    teacher['rpn_head']['anchor_generator']['strides'] = [8, 16]
    teacher['roi_head']['bbox_roi_extractor']['featmap_strides'] = [8, 16]
    with pytest.raises(ValueError, match=r'the student has 1 feature '
                       r'level\(s\) \(strides \[16.0\]\) and the teacher 2 '
                       r'\(strides \[8.0, 16.0\]\); set model.mimic_levels'):
        build(cfg)


def test_mixed_scopes_build_and_train():
    """mmdet.FasterRCNN teacher, mmpretrain.MobileNetV2 student backbone,
    FeatureMimicDistiller: all in one model (mmmimic scope)."""
    teacher = tiny_detector(16)
    assert teacher['type'] == 'mmdet.FasterRCNN'
    cfg = distiller_cfg(None)
    cfg['backbone'] = dict(type='mmpretrain.MobileNetV2', widen_factor=0.5,
                           out_indices=(4, ))
    cfg['mimic_adapter'] = dict(type='DeconvNeck', in_channels=48,
                                out_channels=64, scale_factor=1)
    cfg['rpn_head'].update(in_channels=48, feat_channels=48)
    cfg['roi_head']['bbox_roi_extractor']['out_channels'] = 48
    cfg['roi_head']['bbox_head']['in_channels'] = 48
    model = build(cfg)
    assert type(model.teacher).__name__ == 'FasterRCNN'
    assert type(model.backbone).__name__ == 'MobileNetV2'
    with pytest.warns(UserWarning, match='teacher_ckpt is None'):
        model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['loss_mimic'])


def test_from_an_mmdet_scoped_config():
    """A config inherited from mmdet:: carries `_scope_='mmdet'`; the distiller
    still finds its own RoIMimicLoss and region sampler by their short names."""
    cfg = distiller_cfg(None)
    cfg['type'] = 'mmmimic.FeatureMimicDistiller'
    cfg['_scope_'] = 'mmdet'
    cfg['mimic_loss'] = dict(type='RoIMimicLoss', mode='roi_align')
    cfg['mimic_sampler'] = dict(type='MimicRegionSampler', num=32)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(ConfigDict(cfg))
    assert type(model.mimic_loss).__name__ == 'RoIMimicLoss'
    assert model.mimic_loss.mode == 'roi_align'
    assert isinstance(model, TwoStageDetector)


def test_half_scale_student_with_training_only_deconv_adapter(tiny_teacher_ckpt):
    """Half input, stride-16 student; the adapter r upsamples x2 for the loss
    only (the export drops it)."""
    cfg = distiller_cfg(tiny_teacher_ckpt[0], student_input_scale=0.5)
    cfg['mimic_adapter'] = dict(type='DeconvNeck', in_channels=32,
                                out_channels=64, scale_factor=2)
    model = build(cfg)
    assert model.mimic_strides == [16.0]
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['loss_mimic'])
    total, _ = model.parse_losses(losses)
    total.backward()
    assert model.mimic_adapter.upsamples[0].weight.grad.abs().sum() > 0


def test_teacher_with_other_normalisation_sees_its_own_inputs(tiny_teacher_ckpt):
    """A teacher trained on BGR, mean-only (caffe-style) inputs gets the batch
    re-normalised its way."""
    cfg = distiller_cfg(tiny_teacher_ckpt[0])
    cfg['teacher_config']['model']['data_preprocessor'] = dict(
        type='mmdet.DetDataPreprocessor', mean=[103.53, 116.28, 123.675],
        std=[1.0, 1.0, 1.0], bgr_to_rgb=False, pad_size_divisor=16)
    model = build(cfg)
    raw = torch.rand(1, 3, 8, 8) * 255               # BGR, as images are read
    student_view = model.data_preprocessor(
        dict(inputs=[raw[0]], data_samples=None))['inputs']
    teacher_view = model.teacher.data_preprocessor(
        dict(inputs=[raw[0]], data_samples=None))['inputs']
    assert torch.allclose(model.teacher_inputs(student_view), teacher_view,
                          atol=1e-3)
    same = build(distiller_cfg(tiny_teacher_ckpt[0]))
    assert same.teacher_inputs(student_view) is student_view


def test_mixed_into_an_mmdet_config_file():
    """A config whose _base_ is mmdet:: has default_scope mmdet and
    model._scope_ mmdet; mmmimic.FeatureMimicDistiller with a short-named
    RoIMimicLoss still builds, and mimics all five FPN levels."""
    from mmengine.config import Config

    from ...conftest import REPO_ROOT
    cfg = Config.fromfile(f'{REPO_ROOT}/tests/data/mmdet_r18_mimic_r50_fpn.py')
    assert cfg.default_scope == 'mmdet'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'FeatureMimicDistiller'
    assert type(model.teacher).__name__ == 'FasterRCNN'
    assert model.teacher.backbone.depth == 50 and model.backbone.depth == 18
    assert model.mimic_levels == [(i, i) for i in range(5)]
    assert model.mimic_strides == [4.0, 8.0, 16.0, 32.0, 64.0]
    model.train()
    inputs, samples = batch(model, shape=(3, 128, 160))
    losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['loss_mimic']) and losses['loss_mimic'] > 0


@pytest.mark.parametrize('student_type', [None, 'mmdet.FasterRCNN'])
def test_a_distiller_pickles_and_copies(tiny_teacher_ckpt, student_type):
    """torch.save(model) and a spawned worker pickle the model: the class
    joined with the student's own at run time is named through its two
    classes; the copy is the same class with the same weights and teacher."""
    import pickle
    path, _ = tiny_teacher_ckpt
    model = training_distiller(distiller_cfg(path, student_type=student_type))
    model.load_teacher_weights()
    again = pickle.loads(pickle.dumps(model))
    copied = copy.deepcopy(model)
    for other in (again, copied):
        assert type(other) is type(model)
        assert other.teacher is not model.teacher
        state, other_state = model.state_dict(), other.state_dict()
        assert sorted(state) == sorted(other_state)
        assert all(torch.equal(state[k], other_state[k]) for k in state)
        for mine, theirs in zip(model.teacher.parameters(),
                                other.teacher.parameters()):
            assert torch.equal(mine, theirs) and not theirs.requires_grad
    if student_type:
        assert type(again).__name__ == 'FeatureMimicDistiller[FasterRCNN]'
        from mmdet.models.detectors import FasterRCNN
        assert isinstance(again, FasterRCNN)
