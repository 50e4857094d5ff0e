"""--amp on CPU: a bf16 autocast training step of the distiller."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from mmmimic.engine import DeviceAmpOptimWrapper
from mmmimic.registry import MODELS, OPTIM_WRAPPERS

from ..test_models._tiny import batch, distiller_cfg

pytestmark = [pytest.mark.filterwarnings('ignore:FeatureMimicDistiller'),
              pytest.mark.device]


def build_distiller():
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmmimic'):
        model = MODELS.build(ConfigDict(distiller_cfg(None)))
    model.init_weights()
    return model


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path')
def test_bf16_step_on_cpu_teacher_under_autocast_fp32_mimic_loss():
    model = build_distiller()
    model.train()
    with DefaultScope.overwrite_default_scope('mmmimic'):
        wrapper = OPTIM_WRAPPERS.build(dict(
            type='DeviceAmpOptimWrapper',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.01)))
    assert wrapper.cast_dtype == torch.bfloat16
    seen = {}
    model.teacher.backbone.register_forward_hook(
        lambda m, i, o: seen.__setitem__('teacher', o[0].dtype))
    model.backbone.register_forward_hook(
        lambda m, i, o: seen.__setitem__('student', o[0].dtype))
    model.mimic_loss.register_forward_hook(
        lambda m, i, o: seen.__setitem__('mimic', o.dtype))
    inputs, samples = batch(model)
    before = [p.detach().clone() for p in model.parameters()]
    log_vars = model.train_step(dict(inputs=inputs, data_samples=samples),
                                wrapper)
    assert seen == dict(teacher=torch.bfloat16, student=torch.bfloat16,
                        mimic=torch.float32)
    assert torch.isfinite(log_vars['loss_mimic']) and log_vars['loss_mimic'] > 0
    assert torch.isfinite(log_vars['loss'])
    changed = [not torch.equal(a, b) for a, b in zip(before,
                                                     model.parameters())]
    assert any(changed)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    # mmcv's functions are restored after the step
    import importlib

    import mmcv.ops
    assert importlib.import_module('mmcv.ops.nms').nms is mmcv.ops.nms
    # same checkpoint layout as AmpOptimWrapper
    assert 'loss_scaler' in wrapper.state_dict()


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path')
def test_fp16_on_cpu_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="optim_wrapper.dtype='bfloat16'"):
        DeviceAmpOptimWrapper(
            optimizer=torch.optim.SGD([torch.nn.Parameter(torch.ones(1))],
                                      lr=0.1), dtype='float16')


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_fp16_step_on_cuda():
    model = build_distiller().cuda()
    model.train()
    wrapper = DeviceAmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01))
    seen = {}
    model.teacher.backbone.register_forward_hook(
        lambda m, i, o: seen.__setitem__('teacher', o[0].dtype))
    model.mimic_loss.register_forward_hook(
        lambda m, i, o: seen.__setitem__('mimic', o.dtype))
    inputs, samples = batch(model)
    log_vars = model.train_step(dict(inputs=inputs, data_samples=samples),
                                wrapper)
    assert seen == dict(teacher=torch.float16, mimic=torch.float32)
    assert torch.isfinite(log_vars['loss_mimic'])


@pytest.mark.parametrize('torch_amp', [
    pytest.param('has GradScaler(device)', marks=pytest.mark.skipif(
        not hasattr(torch.amp, 'GradScaler'),
        reason=f'torch {torch.__version__} has no torch.amp.GradScaler (2.3+)')),
    'no torch.amp.GradScaler', 'GradScaler without device'])
def test_cpu_scaler_where_torch_has_it_and_a_fallback_where_not(
        torch_amp, monkeypatch):
    """torch.amp.GradScaler('cpu') came in torch 2.3; before, the disabled
    torch.cuda.amp.GradScaler does the same without CUDA."""
    import warnings

    from mmmimic.engine.optimizers.device_amp_optim_wrapper import (
        disabled_cpu_grad_scaler,
    )
    if torch_amp == 'no torch.amp.GradScaler':
        monkeypatch.delattr(torch.amp, 'GradScaler', raising=False)
    elif torch_amp == 'GradScaler without device':
        def no_device(*args, **kwargs):   # as if it took no device
            raise TypeError("__init__() got an unexpected argument 'cpu'")

        monkeypatch.setattr(torch.amp, 'GradScaler', no_device, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)   # cuda.amp deprecated
        scaler = disabled_cpu_grad_scaler()
    assert not scaler.is_enabled()
    expected = 'torch.amp' if torch_amp == 'has GradScaler(device)' \
        else 'torch.cuda.amp'
    assert type(scaler).__module__.startswith(expected)
    loss = torch.tensor(2.0, requires_grad=True)
    assert scaler.scale(loss) is loss
    weight = torch.nn.Parameter(torch.ones(1))
    optimizer = torch.optim.SGD([weight], lr=0.5)
    (weight * 2).sum().backward()
    scaler.step(optimizer)
    scaler.update()
    assert weight.item() == 0.0
    assert scaler.state_dict() == {}
