import math

import pytest
import torch
from mmpretrain.models import InceptionV3

from mmmimic.models import ThinInceptionV3

WIDTHS = (1.0, 0.5, 0.25, 0.125)


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_classification_mode_equals_mmpretrain():
    torch.manual_seed(0)
    ref = InceptionV3()
    ref.init_weights()
    ref.eval()
    ours = ThinInceptionV3(pad_mode='classification').eval()
    missing, unexpected = ours.load_state_dict(ref.state_dict(), strict=False)
    assert missing == [] and sorted(unexpected) == ['fc.bias', 'fc.weight']
    ref_outs = {}
    for name in ('Mixed_5d', 'Mixed_6e', 'Mixed_7c'):
        getattr(ref, name).register_forward_hook(
            lambda m, i, o, name=name: ref_outs.__setitem__(name, o))
    x = torch.randn(1, 3, 139, 171)
    with torch.no_grad():
        ref(x)
        outs = ours(x)
    for out, name in zip(outs, ('Mixed_5d', 'Mixed_6e', 'Mixed_7c')):
        assert torch.equal(out, ref_outs[name]), name


def test_mmpretrain_checkpoint_loads_as_init_cfg(tmp_path):
    """An mmpretrain ImageClassifier checkpoint of InceptionV3 (keys
    ``backbone.*``, classifier ``backbone.fc``) loads with no conversion."""
    torch.manual_seed(1)
    ref = InceptionV3()
    ref.init_weights()
    state = {f'backbone.{k}': v for k, v in ref.state_dict().items()}
    ckpt = tmp_path / 'inception-v3_in1k.pth'
    torch.save(dict(state_dict=state, meta=dict(mmpretrain_version='1.2.0')),
               ckpt)
    ours = ThinInceptionV3(
        out_indices=(1, ),
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                      prefix='backbone.'))
    ours.init_weights()
    own = ours.state_dict()
    assert own, 'no parameters'
    for key, value in own.items():
        assert torch.equal(value, state[f'backbone.{key}']), key
    # stages after the last output are not built, so Mixed_7* is not loaded
    assert not any(k.startswith('Mixed_7') for k in own)


@pytest.mark.parametrize('widen_factor', WIDTHS + (0.3, ))
@pytest.mark.parametrize('size', [(96, 128), (101, 133)])
def test_detection_mode_shapes(widen_factor, size):
    model = ThinInceptionV3(widen_factor=widen_factor).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    assert len(outs) == 3
    for out, stride, channels in zip(outs, model.strides, model.out_channels):
        assert out.shape == (1, channels, math.ceil(size[0] / stride),
                             math.ceil(size[1] / stride))
        assert channels % 8 == 0


@pytest.mark.parametrize('widen_factor', (1.0, 0.25))
def test_classification_mode_shapes(widen_factor):
    model = ThinInceptionV3(widen_factor=widen_factor,
                            pad_mode='classification').eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 299, 299))
    assert [tuple(o.shape[-2:]) for o in outs] == [(35, 35), (17, 17), (8, 8)]


def test_channels_scale_and_round():
    assert ThinInceptionV3(1.0).out_channels == [288, 768, 2048]
    assert ThinInceptionV3(0.5).out_channels == [144, 384, 1024]
    assert ThinInceptionV3(0.25).out_channels == [72, 192, 512]
    narrow = ThinInceptionV3(0.125)
    assert narrow.out_channels == [40, 96, 256]
    assert narrow.Conv2d_1a_3x3.conv.out_channels == 8     # 32 / 8 = 4 -> 8
    assert narrow.Mixed_5b.branch5x5_1.conv.out_channels == 8   # 48 / 8 = 6


def test_parameter_counts_scale_with_width_squared():
    full = _params(ThinInceptionV3(1.0))
    half = _params(ThinInceptionV3(0.5))
    quarter = _params(ThinInceptionV3(0.25))
    assert full == 21785568     # mmpretrain's InceptionV3 without fc
    assert 0.24 < half / full < 0.26          # 5455216: 0.2504
    assert 0.058 < quarter / full < 0.068     # 1375576: 0.0631
    # the single-level (stride 16) detection backbone of the paper
    full16 = _params(ThinInceptionV3(1.0, out_indices=(1, )))
    assert 0.24 < _params(ThinInceptionV3(0.5, out_indices=(1, ))) / \
        full16 < 0.26


def _symmetric_positive_(model: torch.nn.Module, seed: int) -> None:
    """Random positive conv weights that are point-symmetric in space and sum
    to 1 per output channel; BN = identity. A point-symmetric network maps an
    impulse to a response point-symmetric about the cell centred on it."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            w = torch.rand(m.weight.shape, generator=g, dtype=torch.float64)
            w = w + w.flip(-1).flip(-2)
            m.weight.data = w / w.sum(dim=(1, 2, 3), keepdim=True)
        elif isinstance(m, torch.nn.BatchNorm2d):
            m.reset_parameters()
            m.reset_running_stats()
            # identity in float64 (1 + 1e-300 == 1); torch 2.11 refuses eps=0
            m.eps = 1e-300


@pytest.mark.parametrize('out_index, stride', [(0, 8), (1, 16)])
def test_impulse_lights_the_same_cell_at_every_width(out_index, stride):
    """Detection mode: cell (i, j) of the stride-s map is centred on pixel
    (s*i, s*j) at every width, so an impulse there peaks at (i, j) and the
    response is point-symmetric about it."""
    # far from the borders: near them the zero padding truncates the response
    # (the image is large so that the blob never reaches them)
    i, j = 448 // stride, 512 // stride
    image = torch.zeros(1, 3, 880, 1008, dtype=torch.float64)
    image[..., stride * i, stride * j] = 1.0
    for seed, widen_factor in enumerate(WIDTHS):
        model = ThinInceptionV3(widen_factor, out_indices=(out_index, ))
        model = model.double().eval()
        _symmetric_positive_(model, seed)
        with torch.no_grad():
            response = model(image)[0].sum(1)[0]   # (H_s, W_s)
        peak = divmod(int(response.argmax()), response.size(1))
        assert peak == (i, j), (widen_factor, peak)
        r = 4
        window = response[i - r:i + r + 1, j - r:j + r + 1]
        torch.testing.assert_close(window, window.flip(0).flip(1),
                                   rtol=1e-9, atol=1e-12)


def test_frozen_stages_and_norm_eval():
    model = ThinInceptionV3(0.125, frozen_stages=1, norm_eval=True)
    model.train()
    frozen = ['Conv2d_1a_3x3', 'Conv2d_4a_3x3', 'Mixed_5b', 'Mixed_5d']
    for name in frozen:
        module = getattr(model, name)
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())
    assert all(p.requires_grad for p in model.Mixed_6a.parameters())
    assert not model.Mixed_6a.branch3x3.bn.training     # norm_eval
    assert model.Mixed_6a.training


@pytest.mark.parametrize('kwargs, match', [
    (dict(widen_factor=0), 'widen_factor'),
    (dict(out_indices=(3, )), 'out_indices'),
    (dict(pad_mode='same'), 'pad_mode'),
    (dict(frozen_stages=4), 'frozen_stages'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ThinInceptionV3(**kwargs)
