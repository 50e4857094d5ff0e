"""DeconvNeck: starts as bilinear upsampling; shapes; the conv-only adapter."""
import pytest
import torch
import torch.nn.functional as F

from mmmimic.models.necks import DeconvNeck


@pytest.mark.parametrize('factor', [2, 4])
def test_starts_as_bilinear_upsampling(factor):
    neck = DeconvNeck(in_channels=3, scale_factor=factor)
    neck.init_weights()
    x = torch.randn(2, 3, 6, 7)
    out, = neck([x])
    assert out.shape == (2, 3, 6 * factor, 7 * factor)
    ref = F.interpolate(x, scale_factor=factor, mode='bilinear',
                        align_corners=False)
    # identical away from the border (the transposed conv zero-pads)
    m = factor
    assert torch.allclose(out[..., m:-m, m:-m], ref[..., m:-m, m:-m], atol=1e-5)


def test_channel_adaptation_and_levels():
    neck = DeconvNeck(in_channels=[8, 16], out_channels=[32, 64], scale_factor=2,
                      norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'))
    a, b = neck([torch.randn(1, 8, 5, 5), torch.randn(1, 16, 3, 3)])
    assert a.shape == (1, 32, 10, 10) and b.shape == (1, 64, 6, 6)


def test_factor_one_is_a_conv_adapter():
    neck = DeconvNeck(in_channels=8, out_channels=24, scale_factor=1,
                      conv_kernel_size=3)
    out, = neck(torch.randn(1, 8, 5, 6))
    assert out.shape == (1, 24, 5, 6)
    assert isinstance(neck.upsamples[0], torch.nn.Identity)


def test_frozen_upsampling():
    neck = DeconvNeck(in_channels=4, learnable_upsample=False)
    assert not neck.upsamples[0].weight.requires_grad


def test_bad_arguments():
    with pytest.raises(ValueError, match='out_channels'):
        DeconvNeck(in_channels=[8, 16], out_channels=[32])
    with pytest.raises(ValueError, match='scale_factor'):
        DeconvNeck(in_channels=8, scale_factor=1.5)
    with pytest.raises(ValueError, match='one entry per level'):
        DeconvNeck(in_channels=8)([torch.zeros(1, 8, 2, 2)] * 2)
