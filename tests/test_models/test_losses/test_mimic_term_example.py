"""The user guide's "write your own mimic term" example runs as written: on a
MimicStep of tensors alone, and as the mimic_loss of a small distiller."""
import os.path as osp
import re

import pytest
import torch

from mmmimic.models.losses import BaseMimicLoss, MimicStep
from mmmimic.registry import MODELS
from mmmimic.utils import register_all_modules

from ...conftest import REPO_ROOT
from .._tiny import batch, distiller_cfg, training_distiller

PAGE = osp.join(REPO_ROOT, 'docs', 'en', 'user_guides', 'write_a_mimic_term.md')

register_all_modules()


# its module fixture is made once: the module's tests on one pytest-xdist
# worker (--dist loadgroup)
pytestmark = pytest.mark.xdist_group('mimic_term_example')


def example_code() -> str:
    """The page's first Python block (the term)."""
    blocks = re.findall(r'```python\n(.*?)```', open(PAGE).read(), re.DOTALL)
    assert 'class RoICosineMimicLoss' in blocks[0]
    return blocks[0]


@pytest.fixture(scope='module')
def term_class():
    namespace = {}
    exec(compile(example_code(), PAGE, 'exec'), namespace)
    yield namespace['RoICosineMimicLoss']
    MODELS._module_dict.pop('RoICosineMimicLoss', None)


def test_the_example_is_short():
    assert len(example_code().strip().splitlines()) <= 30


def test_the_example_on_tensors_alone(term_class):
    term = term_class(loss_weight=2.0)
    assert isinstance(term, BaseMimicLoss)
    torch.manual_seed(0)
    rois = torch.tensor([[0, 0., 0., 64., 64.], [0, 32., 16., 96., 80.]])
    teacher = torch.randn(1, 8, 8, 8)
    same = MimicStep(student_maps=[teacher.clone()], teacher_maps=[teacher],
                     strides=[16.0], teacher_rois=rois)
    assert term.step_loss(same)['loss_mimic_cos'].item() == \
        pytest.approx(0, abs=1e-5)
    # the same direction at another scale: still no loss; the opposite: 2 * 2
    scaled = MimicStep(student_maps=[3 * teacher], teacher_maps=[teacher],
                       strides=[16.0], teacher_rois=rois)
    assert term.step_loss(scaled)['loss_mimic_cos'].item() == \
        pytest.approx(0, abs=1e-5)
    opposite = MimicStep(student_maps=[-teacher], teacher_maps=[teacher],
                         strides=[16.0], teacher_rois=rois)
    assert term.step_loss(opposite)['loss_mimic_cos'].item() == \
        pytest.approx(4.0, abs=1e-4)


def test_the_example_as_the_mimic_loss_of_a_distiller(term_class):
    cfg = distiller_cfg(None, student_base=8, teacher_base=16,
                        mimic_loss=dict(type='RoICosineMimicLoss'))
    model = training_distiller(cfg)
    assert isinstance(model.mimic_loss, term_class)
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['loss_mimic_cos'])
    assert losses['loss_mimic_cos'].item() > 0
    total, _ = model.parse_losses(losses)
    total.backward()
    # the gradient reaches the adapter, and not the teacher
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.mimic_adapter.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())
