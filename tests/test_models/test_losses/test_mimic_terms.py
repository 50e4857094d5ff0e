"""The mimic terms share one interface (BaseMimicLoss, MimicStep): each
returns exactly its loss_names from a training step, and the same keys at
zero; Stage2MimicLoss and LogitMimicLoss on tensors."""
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

from .._tiny import batch, distiller_cfg

register_all_modules()


def test_every_term_gives_its_names_on_and_off():
    cfg = distiller_cfg(None, student_base=8, teacher_base=8,
                        stage2_mimic=dict(), logit_mimic=dict())
    with DefaultScope.overwrite_default_scope('mmmimic'), \
            warnings.catch_warnings():
        warnings.simplefilter('ignore')   # teacher_ckpt None: initial weights
        model = MODELS.build(ConfigDict(cfg))
        model.train()
    assert [type(t) for t in model.mimic_terms] == [
        RoIMimicLoss, Stage2MimicLoss, LogitMimicLoss]
    inputs, samples = batch(model)
    # the steps the distiller's tap hands the terms, recorded
    steps = []
    for term in model.mimic_terms:
        term.step_loss = (lambda f: lambda step: steps.append(step) or f(step)
                          )(term.step_loss)
    model.loss(inputs, samples)
    step = steps[0]
    assert all(s is step for s in steps)
    assert step.rpn_outs is not None and step.student_rois.shape[1] == 5
    for term in model.mimic_terms:
        assert isinstance(term, BaseMimicLoss)
        on = term.step_loss(step)
        off = term.zero_losses(MimicStep(model, model.teacher, step.x))
        assert tuple(on) == tuple(off) == term.loss_names
        assert all(torch.isfinite(v) and v.dim() == 0 for v in on.values())
        assert all(v.item() == 0 for v in off.values())
    losses = model.loss(inputs, samples)
    assert set(losses) >= {n for t in model.mimic_terms for n in t.loss_names}


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
