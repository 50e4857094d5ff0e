import pytest
import torch

from mmmimic.models import PSRoIExtractor, PSRoIPool, ps_roi_pool
from mmmimic.models.roi_heads.roi_extractors.ps_roi_pool import ps_roi_pool_reference


def make_rois(n, size, seed, batch=2):
    """RoIs of every kind: inside, partly and wholly outside, smaller than a
    cell, degenerate."""
    g = torch.Generator().manual_seed(seed)
    height, width = size
    xy = torch.rand(n, 2, generator=g) * torch.tensor([width, height]) * 1.2 - 8
    wh = torch.rand(n, 2, generator=g) * torch.tensor([width, height]) * 0.7
    rois = torch.cat([torch.randint(0, batch, (n, 1), generator=g).float(),
                      xy, xy + wh], 1)
    special = torch.tensor([
        [0, 3.0, 5.0, 9.0, 11.0],           # smaller than one 16-px cell
        [1, 40.0, 30.0, 40.0, 30.0],        # degenerate (zero size)
        [0, -50.0, -40.0, -10.0, -5.0],     # wholly outside
        [1, 0.0, 0.0, width, height],       # the whole image
    ])
    return torch.cat([rois, special])


@pytest.mark.parametrize('k, d', [(3, 2), (7, 5)])
def test_equals_naive_reference_values_and_gradients(k, d):
    torch.manual_seed(0)
    size, stride = (96, 160), 16
    x = torch.randn(2, d * k * k, size[0] // stride, size[1] // stride,
                    dtype=torch.float64, requires_grad=True)
    rois = make_rois(20, size, seed=k).double()
    out = ps_roi_pool(x, rois, k, 1 / stride)
    ref = ps_roi_pool_reference(x, rois, k, 1 / stride)
    assert out.shape == (rois.size(0), d, k, k)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
    assert out[-2].abs().max() == 0   # wholly outside -> 0
    weights = torch.randn_like(out)
    grad, = torch.autograd.grad((out * weights).sum(), x)
    grad_ref, = torch.autograd.grad((ref * weights).sum(), x)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-10, atol=1e-12)


def test_float32_close_to_reference_and_dtype_kept():
    torch.manual_seed(1)
    x = torch.randn(2, 3 * 9, 30, 40) * 10
    rois = make_rois(30, (480, 640), seed=2)
    out = ps_roi_pool(x, rois, 3, 1 / 16)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ps_roi_pool_reference(x, rois, 3, 1 / 16),
                               rtol=1e-5, atol=1e-5)


def test_gradcheck():
    torch.manual_seed(2)
    x = torch.randn(1, 2 * 4, 5, 6, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0, 1.0, 2.0, 70.0, 50.0], [0, 20.0, 10.0, 40.0, 80.0]],
                        dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda t: ps_roi_pool(t, rois, 2, 1 / 16), (x, ))


def test_no_rois_and_bad_channels():
    x = torch.randn(1, 18, 4, 4)
    assert ps_roi_pool(x, x.new_zeros(0, 5), 3, 1.0).shape == (0, 2, 3, 3)
    with pytest.raises(ValueError, match='multiple of output_size'):
        ps_roi_pool(torch.randn(1, 10, 4, 4), x.new_zeros(1, 5), 3, 1.0)
    with pytest.raises(ValueError, match='square'):
        PSRoIPool((3, 4), 1.0)


@pytest.mark.device
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_equals_cpu():
    torch.manual_seed(3)
    x = torch.randn(2, 6 * 49, 38, 50, requires_grad=True)
    rois = make_rois(200, (600, 800), seed=3)
    out = ps_roi_pool(x, rois, 7, 1 / 16)
    xc = x.detach().cuda().requires_grad_()
    out_cuda = ps_roi_pool(xc, rois.cuda(), 7, 1 / 16)
    torch.testing.assert_close(out_cuda.cpu(), out, rtol=1e-5, atol=1e-5)
    weights = torch.randn_like(out)
    grad, = torch.autograd.grad((out * weights).sum(), x)
    grad_cuda, = torch.autograd.grad((out_cuda * weights.cuda()).sum(), xc)
    torch.testing.assert_close(grad_cuda.cpu(), grad, rtol=1e-5, atol=1e-5)


def test_extractor_single_and_multi_level():
    torch.manual_seed(4)
    rois = make_rois(12, (128, 128), seed=4)
    maps = (torch.randn(2, 2 * 9, 16, 16), torch.randn(2, 2 * 9, 8, 8))
    single = PSRoIExtractor(dict(type='PSRoIPool', output_size=3), [8])
    torch.testing.assert_close(single(maps[:1], rois),
                               ps_roi_pool(maps[0], rois, 3, 1 / 8))
    multi = PSRoIExtractor(dict(type='PSRoIPool', output_size=3), [8, 16],
                           finest_scale=32)
    out = multi(maps, rois)
    levels = multi.map_roi_levels(rois, 2)
    assert set(levels.tolist()) == {0, 1}
    for level, stride in enumerate((8, 16)):
        keep = levels == level
        torch.testing.assert_close(
            out[keep], ps_roi_pool(maps[level], rois[keep], 3, 1 / stride))
    checked = PSRoIExtractor(dict(type='PSRoIPool', output_size=3), [8],
                             out_channels=5)
    with pytest.raises(ValueError, match='out_channels is 5'):
        checked(maps[:1], rois)
    with pytest.raises(ValueError, match="must be 'PSRoIPool'"):
        PSRoIExtractor(dict(type='RoIAlign', output_size=3), [8])
