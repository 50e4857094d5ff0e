"""RNGStateHook restores generator states whatever device and dtype the
checkpoint was mapped to (a GPU resume maps it onto CUDA first)."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mmmimic.engine.hooks.rng_state_hook import RNGStateHook, cpu_byte_tensor

pytestmark = pytest.mark.device


class MappedElsewhere(torch.Tensor):
    """Stands for a state tensor that ``map_location`` put on another device:
    ``torch.set_rng_state`` only takes a plain CPU ByteTensor."""

    moved_to = []

    def to(self, *args, **kwargs):
        MappedElsewhere.moved_to.append(kwargs.get('device', args[:1]))
        return super().to(*args, **kwargs)


def runner(resume=True):
    return SimpleNamespace(_resume=resume, logger=SimpleNamespace(
        info=lambda msg: None))


def saved_states():
    hook, checkpoint = RNGStateHook(), {}
    hook.before_save_checkpoint(runner(), checkpoint)
    return checkpoint


def draws():
    return (torch.rand(3).tolist(), np.random.rand(3).tolist(),
            [random.random() for _ in range(3)])


@pytest.mark.parametrize('convert', [
    lambda t: t.long(),                                  # another dtype
    lambda t: t.as_subclass(MappedElsewhere),            # another 'device'
    lambda t: t.numpy(),                                 # not a tensor at all
])
def test_states_restored_from_a_mapped_checkpoint(convert, monkeypatch):
    torch.manual_seed(1)
    checkpoint = saved_states()
    expected = draws()
    checkpoint['rng_state']['torch'] = convert(checkpoint['rng_state']['torch'])
    received = []
    real = torch.set_rng_state
    monkeypatch.setattr(torch, 'set_rng_state',
                        lambda s: (received.append(s), real(s)))
    torch.manual_seed(2)
    RNGStateHook().after_load_checkpoint(runner(), checkpoint)
    assert type(received[0]) is torch.Tensor
    assert received[0].device.type == 'cpu'
    assert received[0].dtype == torch.uint8
    assert draws() == expected


def test_subclass_state_is_moved_to_the_cpu():
    MappedElsewhere.moved_to.clear()
    state = torch.get_rng_state().as_subclass(MappedElsewhere)
    out = cpu_byte_tensor(state)
    assert MappedElsewhere.moved_to == ['cpu']
    assert type(out) is torch.Tensor and torch.equal(out, torch.get_rng_state())


def test_cuda_states_converted_before_set_rng_state_all(monkeypatch):
    """The CUDA branch, emulated: two 'devices' whose states arrive as int64."""
    checkpoint = saved_states()
    checkpoint['rng_state']['cuda'] = [torch.arange(4).long(),
                                       torch.arange(4).long()]
    received = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    monkeypatch.setattr(torch.cuda, 'set_rng_state_all', received.extend)
    RNGStateHook().after_load_checkpoint(runner(), checkpoint)
    assert [s.dtype for s in received] == [torch.uint8, torch.uint8]
    assert all(s.device.type == 'cpu' for s in received)


def test_load_from_leaves_the_generators_alone():
    checkpoint = saved_states()
    checkpoint['rng_state']['torch'] = torch.zeros(1, dtype=torch.uint8)
    RNGStateHook().after_load_checkpoint(runner(resume=False), checkpoint)
