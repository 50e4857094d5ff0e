"""RoIMimicLoss against naive per-RoI references and hand computations."""
import math

import pytest
import torch

from mmmimic.models.losses import RoIMimicLoss


def random_rois(num, batch, width, height, generator):
    x1 = torch.rand(num, generator=generator) * width * 0.8
    y1 = torch.rand(num, generator=generator) * height * 0.8
    w = torch.rand(num, generator=generator) * width * 0.6 + 1
    h = torch.rand(num, generator=generator) * height * 0.6 + 1
    b = torch.randint(0, batch, (num, ), generator=generator).float()
    return torch.stack([b, x1, y1, (x1 + w).clamp(max=width + 20),
                        (y1 + h).clamp(max=height + 20)], dim=1)


def naive_pixel(student, teacher, rois, stride, normalize):
    """The paper's loss with one crop per RoI (the definition, written plainly)."""
    _, channels, height, width = student.shape
    total = 0.0
    for b, x1, y1, x2, y2 in rois.tolist():
        j0 = min(max(math.floor(x1 / stride), 0), width - 1)
        i0 = min(max(math.floor(y1 / stride), 0), height - 1)
        j1 = max(min(math.ceil(x2 / stride), width), j0 + 1)
        i1 = max(min(math.ceil(y2 / stride), height), i0 + 1)
        u = teacher[int(b), :, i0:i1, j0:j1]
        v = student[int(b), :, i0:i1, j0:j1]
        err = ((u - v)**2).sum()
        total = total + (err / u.numel() if normalize else err)
    return total / (2 * len(rois))


@pytest.mark.parametrize('normalize', [True, False])
@pytest.mark.parametrize('stride', [8, 16])
def test_pixel_equals_naive_loop(normalize, stride):
    g = torch.Generator().manual_seed(0)
    student = torch.randn(2, 6, 12, 15, generator=g)
    teacher = torch.randn(2, 6, 12, 15, generator=g)
    rois = random_rois(40, 2, 15 * stride, 12 * stride, g)
    loss = RoIMimicLoss(normalize=normalize)(student, teacher, rois, stride)
    expected = naive_pixel(student.double(), teacher.double(), rois, stride,
                           normalize)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_pixel_region_rule_by_hand():
    """RoI [10, 0, 17, 9] at stride 8: columns floor(10/8)=1 .. ceil(17/8)=3
    (exclusive), rows 0 .. ceil(9/8)=2 -> cells (0..1, 1..2): 4 cells."""
    student = torch.zeros(1, 1, 4, 4)
    teacher = torch.zeros(1, 1, 4, 4)
    teacher[0, 0, :2, 1:3] = 1.0   # inside the region: 4 cells, error 1 each
    teacher[0, 0, 3, 3] = 5.0      # outside
    rois = torch.tensor([[0, 10., 0., 17., 9.]])
    assert RoIMimicLoss(normalize=False)(student, teacher, rois, 8).item() == 2.0
    assert RoIMimicLoss(normalize=True)(student, teacher, rois, 8).item() == 0.5
    # a RoI outside the map still covers one (edge) cell
    far = torch.tensor([[0, 100., 100., 120., 120.]])
    assert RoIMimicLoss(normalize=False)(student, teacher, far, 8).item() == 12.5


def test_pixel_multilevel_scale_assignment_equals_naive():
    g = torch.Generator().manual_seed(1)
    strides = (4, 8, 16)
    shapes = [(32, 40), (16, 20), (8, 10)]
    student = [torch.randn(2, 3, h, w, generator=g) for h, w in shapes]
    teacher = [torch.randn(2, 3, h, w, generator=g) for h, w in shapes]
    rois = random_rois(60, 2, 160, 128, g)
    loss_fn = RoIMimicLoss(finest_scale=28)
    loss = loss_fn(student, teacher, rois, strides)
    scale = ((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2])).sqrt()
    levels = torch.floor(torch.log2(scale / 28 + 1e-6)).clamp(0, 2).long()
    assert len(set(levels.tolist())) > 1
    expected = 0.0
    for lvl in range(3):
        sel = rois[levels == lvl]
        if len(sel):
            expected += naive_pixel(student[lvl].double(), teacher[lvl].double(),
                                    sel, strides[lvl], True) * 2 * len(sel)
    expected /= 2 * len(rois)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)

    all_levels = RoIMimicLoss(level_assign='all')(student, teacher, rois, strides)
    expected_all = sum(
        naive_pixel(s.double(), t.double(), rois, st, True)
        for s, t, st in zip(student, teacher, strides)) / 3
    assert all_levels.item() == pytest.approx(expected_all.item(), rel=1e-5)


def test_pixel_gradcheck_double():
    g = torch.Generator().manual_seed(2)
    student = torch.randn(1, 2, 5, 6, dtype=torch.float64, generator=g,
                          requires_grad=True)
    teacher = torch.randn(1, 2, 5, 6, dtype=torch.float64, generator=g)
    rois = torch.tensor([[0, 3., 2., 30., 17.], [0, 17., 9., 45., 39.]])

    def fn(s):
        return RoIMimicLoss()(s, teacher, rois, 8)

    assert torch.autograd.gradcheck(fn, (student, ))


def test_empty_rois_zero_with_gradient():
    student = torch.randn(1, 3, 4, 4, requires_grad=True)
    loss = RoIMimicLoss()(student, torch.randn(1, 3, 4, 4), torch.zeros(0, 5), 8)
    assert loss.item() == 0.0
    loss.backward()
    assert student.grad is not None and torch.all(student.grad == 0)


def test_roi_align_by_hand():
    """Constant maps: every aligned sample equals the constant."""
    student = torch.full((1, 2, 8, 8), 1.0)
    teacher = torch.full((1, 2, 8, 8), 3.0)
    rois = torch.tensor([[0, 8., 8., 40., 40.], [0, 0., 0., 20., 12.]])
    loss = RoIMimicLoss(mode='roi_align', roi_size=3)(student, teacher, rois, 8)
    assert loss.item() == pytest.approx(4.0 / 2)      # mean error 4, 1/(2N)*N*4
    loss = RoIMimicLoss(mode='roi_align', roi_size=3, normalize=False)(
        student, teacher, rois, 8)
    assert loss.item() == pytest.approx(4.0 * 2 * 9 / 2)


def test_spp_avg_by_hand():
    """One RoI over a 4x4 region: level 1 is the mean, level 2 four quadrant means."""
    teacher = torch.zeros(1, 1, 4, 4)
    student = torch.arange(16.).reshape(1, 1, 4, 4)
    rois = torch.tensor([[0, 0., 0., 32., 32.]])
    loss = RoIMimicLoss(mode='spp', spp_levels=(1, 2), normalize=False)(
        student, teacher, rois, 8)
    quadrants = [(0 + 1 + 4 + 5) / 4, (2 + 3 + 6 + 7) / 4, (8 + 9 + 12 + 13) / 4,
                 (10 + 11 + 14 + 15) / 4]
    expected = (7.5**2 + sum(q**2 for q in quadrants)) / 2
    assert loss.item() == pytest.approx(expected)
    normalized = RoIMimicLoss(mode='spp', spp_levels=(1, 2))(
        student, teacher, rois, 8)
    assert normalized.item() == pytest.approx(expected / 5)


def test_spp_max_gives_finite_gradients():
    student = torch.randn(2, 4, 10, 10, requires_grad=True)
    rois = torch.tensor([[0, 4., 4., 60., 70.], [1, 0., 0., 79., 79.]])
    loss = RoIMimicLoss(mode='spp', spp_pool='max')(student, torch.randn(
        2, 4, 10, 10), rois, 8)
    loss.backward()
    assert torch.isfinite(loss) and student.grad.abs().sum() > 0


def test_global_by_hand():
    student = torch.zeros(2, 2, 3, 3)
    teacher = torch.ones(2, 2, 3, 3)
    teacher[1] = 2.0
    loss = RoIMimicLoss(mode='global')(student, teacher, torch.zeros(0, 5), 16)
    assert loss.item() == pytest.approx((1.0 + 4.0) / 4)
    loss = RoIMimicLoss(mode='global', normalize=False)(student, teacher,
                                                        torch.zeros(0, 5), 16)
    assert loss.item() == pytest.approx((18 + 72) / 4)


def test_loss_weight_scales():
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(1, 2, 6, 6, generator=g), torch.randn(1, 2, 6, 6,
                                                             generator=g)
    rois = torch.tensor([[0, 0., 0., 40., 40.]])
    assert RoIMimicLoss(loss_weight=3.0)(s, t, rois, 8).item() == pytest.approx(
        3 * RoIMimicLoss()(s, t, rois, 8).item())


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r'\(1, 2, 6, 6\).*\(1, 4, 6, 6\)'):
        RoIMimicLoss()(torch.zeros(1, 2, 6, 6), torch.zeros(1, 4, 6, 6),
                       torch.zeros(1, 5), 8)
    with pytest.raises(ValueError, match='mode'):
        RoIMimicLoss(mode='pixels')


@pytest.mark.parametrize('mode', ['pixel', 'roi_align', 'spp', 'global'])
def test_half_precision_large_activations_do_not_overflow(mode):
    """fp16 features whose squared error exceeds fp16's range (65504)."""
    student = torch.full((1, 8, 20, 20), -300.0, dtype=torch.float16)
    teacher = torch.full((1, 8, 20, 20), 300.0, dtype=torch.float16)
    rois = torch.tensor([[0, 0., 0., 150., 150.]])
    loss = RoIMimicLoss(mode=mode, normalize=False)(student, teacher, rois, 8)
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss) and loss.item() > 65504
