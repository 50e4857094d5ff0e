"""R-FCN: training, prediction, OHEM, config checks, inside the distiller."""
import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS
from mmmimic.utils import register_all_modules

from .._tiny import batch, tiny_inception_detector

register_all_modules()
# the distiller tests use untrained teachers on purpose
pytestmark = pytest.mark.filterwarnings('ignore:FeatureMimicDistiller')


def build(cfg: dict):
    with DefaultScope.overwrite_default_scope('mmmimic'):
        model = MODELS.build(ConfigDict(cfg))
    model.init_weights()
    return model


def _total(losses: dict) -> torch.Tensor:
    return sum(sum(v) if isinstance(v, list) else v
               for k, v in losses.items() if 'loss' in k)


def test_rfcn_trains_and_predicts():
    torch.manual_seed(0)
    model = build(tiny_inception_detector('rfcn'))
    assert model.roi_head.train_cfg.sampler.type == 'mmdet.OHEMSampler'
    bbox_head = model.roi_head.bbox_head
    assert bbox_head.conv_cls.out_channels == 9 * 2      # k*k*(classes + 1)
    assert bbox_head.conv_reg.out_channels == 9 * 4      # class-agnostic
    model.train()
    inputs, samples = batch(model)
    optim = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    history = []
    for _ in range(12):
        losses = model.loss(inputs, samples)
        assert set(losses) >= {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls',
                               'loss_bbox', 'acc'}
        total = _total(losses)
        optim.zero_grad()
        total.backward()
        optim.step()
        history.append(total.item())
    assert all(map(torch.isfinite, map(torch.tensor, history)))
    assert sum(history[-3:]) < sum(history[:3]), history

    model.eval()
    inputs, samples = batch(model, training=False)
    with torch.no_grad():
        results = model.predict(inputs, samples)
    assert len(results) == 2
    for result in results:
        pred = result.pred_instances
        n = len(pred.scores)
        assert 0 < n <= 100
        assert pred.bboxes.shape == (n, 4) and pred.labels.shape == (n, )
        assert pred.labels.dtype == torch.long and (pred.labels == 0).all()
        assert ((pred.scores >= 0) & (pred.scores <= 1)).all()
        assert (pred.bboxes[:, 2:] >= pred.bboxes[:, :2]).all()
        assert pred.bboxes[:, 2].max() <= 128 and pred.bboxes[:, 3].max() <= 96


def test_rfcn_without_ohem_and_with_class_specific_regression():
    cfg = tiny_inception_detector('rfcn')
    cfg['train_cfg']['rcnn']['sampler'] = dict(
        type='mmdet.RandomSampler', num=64, pos_fraction=0.25, neg_pos_ub=-1,
        add_gt_as_proposals=True)
    cfg['roi_head']['bbox_head'].update(reg_class_agnostic=False,
                                        num_classes=3, reduce_channels=0)
    model = build(cfg)
    assert not hasattr(model.roi_head.bbox_head, 'conv_reduce')
    assert model.roi_head.bbox_head.conv_reg.out_channels == 9 * 4 * 3
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    assert torch.isfinite(_total(losses))


@pytest.mark.parametrize('change, error, match', [
    (lambda c: c['roi_head']['bbox_head'].update(group_size=5), ValueError,
     r'output_size \(3\) must equal roi_head.bbox_head.group_size \(5\)'),
    (lambda c: c['roi_head'].update(
        mask_head=dict(type='mmdet.FCNMaskHead')), ValueError,
     'masks are not supported'),
    (lambda c: c['roi_head']['bbox_head'].update(roi_feat_size=7), TypeError,
     "'roi_feat_size' does not apply"),
])
def test_rfcn_config_errors(change, error, match):
    cfg = tiny_inception_detector('rfcn')
    change(cfg)
    with pytest.raises(error, match=match):
        build(cfg)


def _distiller(student: dict, teacher: dict, teacher_channels: int,
               **kwargs) -> dict:
    channels = student['rpn_head']['in_channels']
    cfg = dict(copy.deepcopy(student), type='FeatureMimicDistiller',
               teacher_config=dict(model=teacher), teacher_ckpt=None,
               mimic_adapter=dict(type='DeconvNeck', in_channels=channels,
                                  out_channels=teacher_channels,
                                  scale_factor=1))
    cfg.update(kwargs)
    return cfg


@pytest.mark.parametrize('student_kind, teacher_kind',
                         [('rfcn', 'rfcn'), ('faster-rcnn', 'rfcn'),
                          ('rfcn', 'faster-rcnn')])
def test_rfcn_in_the_distiller_with_two_stage_mimic(student_kind,
                                                    teacher_kind):
    """R-FCN as student and as teacher; the two-stage mimic's soft targets are
    the teacher's voted scores. The teacher has no checkpoint (random), which
    the distiller allows with a warning."""
    torch.manual_seed(0)
    cfg = _distiller(tiny_inception_detector(student_kind, 0.125),
                     tiny_inception_detector(teacher_kind, 0.25), 192,
                     stage2_mimic=dict(type='Stage2MimicLoss', cls_loss='kl',
                                       temperature=2.0))
    model = build(cfg)
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    for key in ('loss_mimic', 'loss_mimic_s2_cls', 'loss_mimic_s2_reg'):
        assert key in losses and torch.isfinite(losses[key]), key
    model.parse_losses(losses)[0].backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.backbone.Conv2d_1a_3x3.conv.weight.grad.abs().sum() > 0
    head = model.roi_head.bbox_head
    predictor = head.conv_cls if student_kind == 'rfcn' else head.fc_cls
    assert predictor.weight.grad.abs().sum() > 0


def test_mmpretrain_student_with_an_inception_teacher():
    """A student backbone from mmpretrain (ShuffleNetV2 at width 0.5, stride 16
    output) mimics a thin-Inception R-FCN teacher."""
    student = tiny_inception_detector('rfcn')
    student['backbone'] = dict(type='mmpretrain.ShuffleNetV2',
                               widen_factor=0.5, out_indices=(1, ))
    student['rpn_head'].update(in_channels=96, feat_channels=96)
    student['roi_head']['bbox_head']['in_channels'] = 96
    cfg = _distiller(student, tiny_inception_detector('rfcn', 0.25), 192)
    model = build(cfg)
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['loss_mimic']) and losses['loss_mimic'] > 0
    model.parse_losses(losses)[0].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.backbone.parameters())


@pytest.mark.device
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_rfcn_distiller_step_on_cuda():
    torch.manual_seed(0)
    cfg = _distiller(tiny_inception_detector('rfcn', 0.125),
                     tiny_inception_detector('rfcn', 0.25), 192,
                     stage2_mimic=dict(type='Stage2MimicLoss', cls_loss='kl'))
    model = build(cfg).cuda()
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    total = model.parse_losses(losses)[0]
    assert total.is_cuda and torch.isfinite(total)
    total.backward()
    model.eval()
    inputs, samples = batch(model, training=False)
    with torch.no_grad():
        pred = model.predict(inputs, samples)[0].pred_instances
    assert pred.bboxes.is_cuda and pred.bboxes.shape[1] == 4
