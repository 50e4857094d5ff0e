import pytest
import torch
from mmpretrain.models.backbones import MobileNetV2

from mmmimic.models.backbones import DetMobileNetV2


@pytest.mark.parametrize('widen_factor', [1.0, 0.5])
def test_same_outputs_as_mmpretrain_without_unread_layers(widen_factor):
    torch.manual_seed(0)
    full = MobileNetV2(widen_factor=widen_factor, out_indices=(2, 4))
    det = DetMobileNetV2(widen_factor=widen_factor, out_indices=(2, 4))
    full.eval()   # mmpretrain's train() returns None
    det.eval()
    missing, unexpected = det.load_state_dict(full.state_dict(), strict=False)
    assert missing == []
    assert sorted({k.split('.')[0] for k in unexpected}) == [
        'conv2', 'layer6', 'layer7']
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        for a, b in zip(full(x), det(x)):
            assert torch.equal(a, b)
    out = det(x)
    assert [tuple(o.shape) for o in out] == [
        (1, int(32 * widen_factor), 12, 16), (1, int(96 * widen_factor), 6, 8)]
    assert det.layers == [f'layer{i}' for i in range(1, 6)]
    assert sum(p.numel() for p in det.parameters()) < 0.5 * sum(
        p.numel() for p in full.parameters())


def test_frozen_stages_beyond_the_built_layers():
    with pytest.raises(ValueError, match='frozen_stages=6'):
        DetMobileNetV2(out_indices=(4, ), frozen_stages=6)
    det = DetMobileNetV2(out_indices=(4, ), frozen_stages=5)
    det.train()
    assert not any(p.requires_grad for p in det.layer5.parameters())
