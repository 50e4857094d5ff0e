"""Build-time checks of the mimic settings (models/distillers/mimic_checks.py):
weights, mimic_levels, the adapter's channels by a dry forward."""
import copy

import pytest
import torch

from mmmimic.models.distillers.mimic_checks import check_adapter_channels
from mmmimic.utils import register_all_modules

from .._tiny import build, distiller_cfg

register_all_modules()


@pytest.mark.parametrize('kwargs, key', [
    (dict(mimic_loss=dict(type='RoIMimicLoss', loss_weight=-1.0)),
     r'model.mimic_loss.loss_weight=-1.0'),
    (dict(stage2_mimic=dict(type='Stage2MimicLoss', cls_weight=-0.5)),
     r'model.stage2_mimic.cls_weight=-0.5'),
    (dict(logit_mimic=dict(type='LogitMimicLoss', reg_weight=float('nan'))),
     r'model.logit_mimic.reg_weight=nan'),
    (dict(logit_mimic=dict(type='LogitMimicLoss', cls_weight='1')),
     r"model.logit_mimic.cls_weight='1'"),
])
def test_negative_or_non_number_mimic_weight_is_refused(kwargs, key):
    with pytest.raises(ValueError, match=key + '.*finite number >= 0'):
        build(distiller_cfg(**kwargs))


def test_every_mimic_weight_zero_is_refused():
    with pytest.raises(ValueError, match=r'every mimic weight is 0 \('
                       r'model.mimic_loss.loss_weight, model.stage2_mimic.'
                       r'cls_weight.*student config alone'):
        build(distiller_cfg(
            mimic_loss=dict(type='RoIMimicLoss', loss_weight=0.0),
            stage2_mimic=dict(type='Stage2MimicLoss', cls_weight=0.0, reg_weight=0)))


def test_some_mimic_weights_zero_build(tiny_teacher_ckpt):
    model = build(distiller_cfg(
        tiny_teacher_ckpt[0], mimic_loss=dict(type='RoIMimicLoss', loss_weight=0.0),
        logit_mimic=dict(type='LogitMimicLoss', reg_weight=0.0)))
    assert model.mimic_loss.loss_weight == 0.0


@pytest.mark.parametrize('levels', [[0], [(0, )], [(0, 0, 0)], [], 'all',
                                    [(0.0, 0)], 0])
def test_mimic_levels_of_the_wrong_shape(levels):
    with pytest.raises(ValueError, match=r'model.mimic_levels must be a list '
                       r'of \(student_level, teacher_level\) int pairs'):
        build(distiller_cfg(mimic_levels=levels))


def test_mimic_levels_as_lists_are_pairs(tiny_teacher_ckpt):
    model = build(distiller_cfg(tiny_teacher_ckpt[0], mimic_levels=[[0, 0]]))
    assert model.mimic_levels == [(0, 0)]


def test_adapter_in_channels_checked_by_a_dry_forward():
    cfg = distiller_cfg()
    cfg['mimic_adapter']['in_channels'] = 16    # the student gives 32
    with pytest.raises(ValueError, match=r'model.mimic_adapter.in_channels='
                       r'\[16\], but the student gives \[32\].*'
                       r'in_channels=\[32\]'):
        build(cfg)
    cfg['mimic_adapter']['in_channels'] = [32, 32]
    with pytest.raises(ValueError, match=r'in_channels=\[32, 32\] has 2 .*'
                       r'mimic_levels=\[\(0, 0\)\] 1 pair'):
        build(dict(cfg, mimic_levels=[(0, 0)]))


def test_dry_forward_leaves_rng_bn_statistics_and_modes_alone(tiny_teacher_ckpt):
    model = build(distiller_cfg(tiny_teacher_ckpt[0]))
    model.train()
    model.roi_head.eval()
    modes = {name: m.training for name, m in model.named_modules()}
    state = copy.deepcopy(model.state_dict())
    torch.manual_seed(3)
    rng = torch.random.get_rng_state()
    calls = []
    original = model.extract_feat
    model.extract_feat = lambda *a: calls.append(a) or original(*a)
    try:
        assert check_adapter_channels(model, model.mimic_adapter, None) is None
    finally:
        del model.extract_feat
    assert len(calls) == 1 and tuple(calls[0][0].shape[:2]) == (1, 3)
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert {name: m.training for name, m in model.named_modules()} == modes
    for key, value in model.state_dict().items():    # BN running statistics
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize('who', ['student', 'teacher'])
def test_maps_whose_stride_the_config_misstates(who):
    """backbone.out_indices changed, anchors not: the measured stride (8)
    disagrees with the stated one (16) before anything trains."""
    cfg = distiller_cfg()
    model = cfg if who == 'student' else cfg['teacher_config']['model']
    model['backbone']['out_indices'] = (1, )
    with pytest.raises(ValueError, match=(
            rf'the {who} config says rpn_head.anchor_generator.strides='
            r'\[16\], but its network gives 1 level\(s\) of height \[16\] on '
            r'a 128x128 input, strides \[8\]: set rpn_head.anchor_generator.'
            r'strides=\[8\] .*out_indices')):
        build(cfg)
    model['rpn_head']['anchor_generator']['strides'] = [8]
    with pytest.raises(ValueError, match=(
            rf'the {who} config says roi_head.bbox_roi_extractor.'
            r'featmap_strides=\[16\], but .* strides \[8\]')):
        build(cfg)
