"""torch>=2.6 weights_only loading of MMEngine checkpoints, and nothing more."""
import io
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmmimic  # noqa: F401  (sets up the allow-list)
from mmmimic.utils.checkpoint_compat import (
    allow_mmengine_checkpoint_globals,
    history_buffer_getattr,
    weights_only_accepts_named_globals,
)

# torch.load's own default (weights_only=True) and allow-list: torch >= 2.6.
# Before, torch.load runs any pickle by default; mmmimic's restricted
# unpickler covers those torches (test_safe_load.py, both paths).
pytestmark = pytest.mark.skipif(
    not weights_only_accepts_named_globals(),
    reason=f'torch {torch.__version__}: no weights_only default and no named '
    'allow-list (torch < 2.6)')


def roundtrip(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer)  # the default, weights_only=True on torch>=2.6


def test_message_hub_state_loads_with_weights_only():
    hub = MessageHub.get_instance('test_checkpoint_compat')
    for i in range(5):
        hub.update_scalar('train/loss', np.float64(1.0 / (i + 1)))
        hub.update_scalar('train/acc', np.float32(50 + i))
        hub.update_scalar('train/count', 3)
    hub.update_info('iter', 5)
    hub.update_info('np_scalar', np.int64(7))
    state = roundtrip(dict(message_hub=hub.state_dict(),
                           state_dict=dict(w=torch.ones(2))))
    buffers = state['message_hub']['log_scalars']
    assert isinstance(buffers['train/loss'], HistoryBuffer)
    assert buffers['train/loss'].mean() == pytest.approx(np.mean(
        [1.0 / (i + 1) for i in range(5)]))
    assert buffers['train/acc'].current() == 54
    assert state['message_hub']['runtime_info']['np_scalar'] == 7


def test_code_execution_is_still_refused():
    class Evil:
        def __reduce__(self):
            return (os.system, ('echo should-not-run',))

    with pytest.raises(pickle.UnpicklingError):
        roundtrip({'x': Evil()})


def test_getattr_is_restricted_to_history_buffer_statistics():
    assert history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='weights_only=False'):
        history_buffer_getattr(np, 'load')
    with pytest.raises(pickle.UnpicklingError):
        history_buffer_getattr(HistoryBuffer, '__init__')


def test_allow_list_is_idempotent():
    before = len(torch.serialization.get_safe_globals())
    allow_mmengine_checkpoint_globals()
    allow_mmengine_checkpoint_globals()
    assert len(torch.serialization.get_safe_globals()) == before
