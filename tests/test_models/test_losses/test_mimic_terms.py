"""The mimic terms share one interface (BaseMimicLoss, MimicStep): each is a
function of the step's tensors (tested without a detector) returning exactly
its loss_names, and the same keys at zero; the distiller's tap hands all of
them one step; every term slot takes dict(type=...)."""
import warnings

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from mmmimic.models.losses import (
    BaseMimicLoss,
    LogitMimicLoss,
    MimicStep,
    RoIMimicLoss,
    Stage2MimicLoss,
)
from mmmimic.registry import MODELS
from mmmimic.utils import register_all_modules

from .._tiny import batch, distiller_cfg, training_distiller

register_all_modules()


def test_the_tap_hands_every_term_one_step():
    cfg = distiller_cfg(None, student_base=8, teacher_base=8,
                        stage2_mimic=dict(type='Stage2MimicLoss'),
                        logit_mimic=dict(type='LogitMimicLoss'))
    model = training_distiller(cfg)
    assert [type(t) for t in model.mimic_terms] == [
        RoIMimicLoss, Stage2MimicLoss, LogitMimicLoss]
    inputs, samples = batch(model)
    # the steps the distiller's tap hands the terms, recorded
    steps = []
    for term in model.mimic_terms:
        term.step_loss = (lambda f: lambda step: steps.append(step) or f(step)
                          )(term.step_loss)
    losses = model.loss(inputs, samples)
    step = steps[0]
    assert all(s is step for s in steps)
    assert step.mimic_on and step.student_rois.shape[1] == 5
    assert step.strides == list(model.mimic_strides)
    n = len(step.student_rois)
    assert step.student_rcnn['cls_score'].shape[0] == n
    assert not step.teacher_rcnn['cls_score'].requires_grad
    assert [m.shape for m in step.student_maps] == \
        [m.shape for m in step.teacher_maps]
    assert set(losses) >= {n for t in model.mimic_terms for n in t.loss_names}
    # mimic off: the teacher is not run, the step has no regions
    model.mimic_weight = 0.0
    steps.clear()
    losses = model.loss(inputs, samples)
    assert not steps
    assert all(losses[n].item() == 0 for t in model.mimic_terms
               for n in t.loss_names)


def tensor_step(**extra) -> MimicStep:
    """A step of one image with 3 regions, from tensors alone."""
    torch.manual_seed(0)
    rois = torch.tensor([[0, 0., 0., 32., 32.], [0, 16., 16., 64., 48.],
                         [0, 8., 40., 30., 60.]])
    return MimicStep(
        student_maps=[torch.randn(1, 4, 4, 4, requires_grad=True)],
        teacher_maps=[torch.randn(1, 4, 4, 4)], strides=[16.0],
        student_rois=rois, teacher_rois=rois,
        positives=torch.tensor([True, False, True]), **extra)


@pytest.mark.parametrize('term', [
    RoIMimicLoss(), Stage2MimicLoss(), LogitMimicLoss()],
    ids=['RoIMimicLoss', 'Stage2MimicLoss', 'LogitMimicLoss'])
def test_every_term_is_a_function_of_the_step_tensors(term):
    """No detector: each term's loss from a MimicStep of tensors, with its
    loss_names, on and off."""
    rpn = ([torch.randn(1, 3, 4, 4)], [torch.randn(1, 12, 4, 4)])
    rcnn = dict(cls_score=torch.randn(3, 2), bbox_pred=torch.randn(3, 4))
    step = tensor_step(student_rpn=rpn, teacher_rpn=rpn,
                       student_rcnn=rcnn, teacher_rcnn=rcnn)
    assert isinstance(term, BaseMimicLoss)
    on = term.step_loss(step)
    assert tuple(on) == term.loss_names
    assert all(torch.isfinite(v) and v.dim() == 0 for v in on.values())
    off = term.zero_losses(MimicStep(student_maps=step.student_maps,
                                     strides=[16.0]))
    assert tuple(off) == term.loss_names
    assert all(v.item() == 0 for v in off.values())


def test_a_step_computes_what_a_term_reads_once_and_names_what_it_lacks():
    calls = []
    step = MimicStep(strides=[16.0])
    step.provide(('student_maps', 'teacher_maps'),
                 lambda: calls.append(1) or ([torch.ones(1)], [torch.zeros(1)]))
    assert step.teacher_maps[0].item() == 0 and step.student_maps[0].item() == 1
    assert calls == [1]
    with pytest.raises(AttributeError, match='no teacher_rois'):
        assert step.teacher_rois is None
    with pytest.raises(TypeError, match=r"no field\(s\) \['student'\]"):
        MimicStep(student=None)
    with pytest.raises(TypeError, match='no field'):
        step.provide('x', lambda: None)


def test_term_slots_take_a_type_and_the_former_keys_warn():
    cfg = distiller_cfg(None, student_base=8, teacher_base=8,
                        stage2_mimic=dict(cls_weight=2.0))
    with DefaultScope.overwrite_default_scope('mmmimic'), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        model = MODELS.build(ConfigDict(cfg))
    assert isinstance(model.stage2_mimic, Stage2MimicLoss)
    assert model.stage2_mimic.cls_weight == 2.0
    assert any(issubclass(w.category, DeprecationWarning)
               and "stage2_mimic=dict(type='Stage2MimicLoss'" in str(w.message)
               for w in caught)
    bad = distiller_cfg(None, student_base=8, teacher_base=8,
                        mimic_loss=dict(loss_weight=1.0))
    with DefaultScope.overwrite_default_scope('mmmimic'), \
            pytest.raises(ValueError, match='model.mimic_loss=.* has no type'):
        MODELS.build(ConfigDict(bad))
    bad = distiller_cfg(None, student_base=8, teacher_base=8,
                        logit_mimic=dict(type='MimicAdapter', in_channels=[8],
                                         out_channels=[8]))
    with DefaultScope.overwrite_default_scope('mmmimic'), \
            pytest.raises(TypeError, match='MimicAdapter is not a mimic term'):
        MODELS.build(ConfigDict(bad))


def test_stage2_mimic_on_tensors():
    term = Stage2MimicLoss(cls_weight=2.0, reg_weight=3.0, cls_loss='l2')
    torch.manual_seed(0)
    cls = torch.randn(5, 3)
    reg = torch.randn(5, 4)
    positives = torch.tensor([True, False, True, False, False])
    same = term(dict(cls_score=cls, bbox_pred=reg),
                dict(cls_score=cls, bbox_pred=reg), positives)
    assert same['loss_mimic_s2_cls'].item() == 0
    assert same['loss_mimic_s2_reg'].item() == 0
    out = term(dict(cls_score=cls + 1, bbox_pred=reg + 1),
               dict(cls_score=cls, bbox_pred=reg), positives)
    # 0.5 * |1|^2 summed over 3 logits, mean over 5 regions, times 2
    assert out['loss_mimic_s2_cls'].item() == pytest.approx(2 * 0.5 * 3)
    # 0.5 * 4, mean over the 2 positives, times 3
    assert out['loss_mimic_s2_reg'].item() == pytest.approx(3 * 0.5 * 4)
    kl = Stage2MimicLoss(temperature=2.0)(
        dict(cls_score=cls, bbox_pred=reg), dict(cls_score=cls, bbox_pred=reg),
        positives)
    assert kl['loss_mimic_s2_cls'].item() == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match='need the same num_classes'):
        term(dict(cls_score=cls, bbox_pred=reg),
             dict(cls_score=cls[:, :2], bbox_pred=reg), positives)
    with pytest.raises(ValueError, match="cls_loss='ce': 'kl' or 'l2'"):
        Stage2MimicLoss(cls_loss='ce')
    with pytest.raises(ValueError, match='temperature=0: must be > 0'):
        Stage2MimicLoss(temperature=0)


def test_logit_mimic_on_tensors():
    term = LogitMimicLoss(cls_weight=1.0, reg_weight=0.5)
    s = ([torch.zeros(1, 3, 4, 4)], [torch.zeros(1, 12, 4, 4)])
    t = ([torch.ones(1, 3, 4, 4)], [torch.full((1, 12, 4, 4), 2.0)])
    out = term(s, t)
    assert out['loss_mimic_logit_cls'].item() == pytest.approx(0.5)
    assert out['loss_mimic_logit_reg'].item() == pytest.approx(0.5 * 0.5 * 4)
    with pytest.raises(ValueError, match='logit mimic needs the same anchors'):
        term(s, ([torch.ones(1, 3, 2, 2)], t[1]))
