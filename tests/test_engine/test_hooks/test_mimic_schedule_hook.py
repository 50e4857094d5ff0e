"""MimicScheduleHook: warm-up and fade-out of the mimic losses, set on the
distiller from the runner's iteration."""
from types import SimpleNamespace

import pytest
import torch

from mmmimic.engine import MimicScheduleHook
from mmmimic.utils import register_all_modules

from ...test_models._tiny import (
    batch,
    build,
    distiller_cfg,
    tiny_detector,
)

register_all_modules()


def set_iter(model, hook, step):
    """What the runner does before iteration ``step``: the hook sets the
    model's mimic weight."""
    hook.before_train_iter(SimpleNamespace(model=model, iter=step), 0)


def test_warmup_scales_mimic_losses(tiny_teacher_ckpt):
    model = build(distiller_cfg(tiny_teacher_ckpt[0]))
    hook = MimicScheduleHook(warmup_iters=10)
    model.train()
    inputs, samples = batch(model)
    set_iter(model, hook, 0)
    torch.manual_seed(0)
    early = model.loss(inputs, samples)['loss_mimic']
    set_iter(model, hook, 20)
    torch.manual_seed(0)
    late = model.loss(inputs, samples)['loss_mimic']
    assert early.item() == pytest.approx(late.item() / 10, rel=1e-4)


def test_fade_out_weights_then_turns_the_teacher_off(tiny_teacher_ckpt):
    model = build(distiller_cfg(tiny_teacher_ckpt[0],
                                stage2_mimic=dict(type='Stage2MimicLoss')))
    hook = MimicScheduleHook(warmup_iters=4, fade_iters=(10, 20))
    model.train()
    weights = {}
    for step in (0, 3, 9, 10, 15, 19, 20, 50):
        set_iter(model, hook, step)
        weights[step] = model.mimic_weight
    assert weights == pytest.approx({0: 0.25, 3: 1.0, 9: 1.0, 10: 1.0,
                                     15: 0.5, 19: 0.1, 20: 0.0, 50: 0.0})
    inputs, samples = batch(model)
    set_iter(model, hook, 5)
    torch.manual_seed(0)
    on = model.loss(inputs, samples)
    set_iter(model, hook, 25)
    calls = []
    original = model.teacher.extract_feat
    model.teacher.extract_feat = lambda *a: calls.append(a) or original(*a)
    try:
        torch.manual_seed(0)
        off = model.loss(inputs, samples)
    finally:
        del model.teacher.extract_feat
    assert calls == []                  # the teacher is not run at all
    assert set(off) == set(on)          # same log keys
    assert on['loss_mimic'].item() > 0
    for key in ('loss_mimic', 'loss_mimic_s2_cls', 'loss_mimic_s2_reg'):
        assert off[key].item() == 0.0, key
    for key in ('loss_rpn_cls', 'loss_rpn_bbox'):     # before any sampling
        assert torch.allclose(sum(off[key]), sum(on[key])), key
    total, _ = model.parse_losses(off)
    total.backward()
    adapter = [p.grad for p in model.mimic_adapter.parameters()]
    assert adapter and all(g is not None and not g.any() for g in adapter)
    assert any(p.grad.abs().sum() > 0 for p in model.backbone.parameters())


@pytest.mark.parametrize('fade', [(20, 10), (5, 5), (-1, 4), (1, 2, 3)])
def test_bad_fade_iters(fade):
    with pytest.raises(ValueError, match=r'fade_iters=.*begin < end'):
        MimicScheduleHook(fade_iters=fade)


def test_schedule_hook_follows_the_runner_iteration_after_resume(
        tiny_teacher_ckpt):
    """The factor is a function of runner.iter, which --resume restores: a
    hook made afresh (as after a restart) gives the same factor at the same
    iteration; a model that is no distiller is refused."""
    model = build(distiller_cfg(tiny_teacher_ckpt[0]))
    set_iter(model, MimicScheduleHook(warmup_iters=8, fade_iters=(10, 14)),
             11)
    before = model.mimic_weight
    model.mimic_weight = 1.0
    set_iter(model, MimicScheduleHook(warmup_iters=8, fade_iters=(10, 14)),
             11)
    assert model.mimic_weight == before == pytest.approx(0.75)
    with pytest.raises(TypeError, match='no mimic_weight'):
        set_iter(build(tiny_detector(8)), MimicScheduleHook(), 0)
