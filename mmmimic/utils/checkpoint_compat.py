"""Let torch >= 2.6's ``weights_only`` loading read MMEngine's own checkpoints.

torch 2.6 made ``torch.load(weights_only=True)`` the default; MMEngine 0.10.7 calls
``torch.load`` without the argument, so resuming a run fails on the objects an
MMEngine ``Runner`` writes besides tensors: the message hub's ``HistoryBuffer``
(with numpy arrays and scalars inside, and its statistics methods pickled as
``getattr(HistoryBuffer, 'mean')``). Instead of turning the check off, we add
exactly those globals to torch's allow-list:

- ``mmengine.logging.HistoryBuffer``;
- numpy's array, dtype and scalar reconstruction (``_reconstruct``, ``ndarray``,
  ``dtype``, the numeric dtype classes, ``scalar``) under both numpy 1 and numpy 2
  module names, so checkpoints cross numpy versions;
- ``builtins.getattr`` bound to a restricted stand-in that only returns
  ``HistoryBuffer``'s registered statistics methods and refuses everything else.

Anything else a pickle asks for is still refused by torch.
"""
import pickle
from typing import Any, List, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

NUMERIC_DTYPES = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16',
                  'uint32', 'uint64', 'float16', 'float32', 'float64')
# numpy 1 pickles these under numpy.core.multiarray, numpy 2 under numpy._core
NUMPY_MULTIARRAY_MODULES = ('numpy.core.multiarray', 'numpy._core.multiarray')


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as unpickling may use it: statistics methods of HistoryBuffer.

    Raises:
        pickle.UnpicklingError: for any other object or attribute.
    """
    if obj is HistoryBuffer and (
            name in HistoryBuffer._statistics_methods
            or name in ('min', 'max', 'current', 'mean')):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); mmmimic only allows '
        'HistoryBuffer statistics methods. If you trust this file, load it '
        'with torch.load(..., weights_only=False).')


def mmengine_checkpoint_globals() -> List[Any]:
    """The allow-list entries (objects or ``(object, 'module.name')`` pairs)."""
    multiarray = np.core.multiarray if hasattr(np, 'core') else np._core.multiarray
    entries: List[Any] = [HistoryBuffer, np.ndarray, np.dtype]
    entries += [type(np.dtype(name)) for name in NUMERIC_DTYPES]
    for module in NUMPY_MULTIARRAY_MODULES:
        entries.append((multiarray._reconstruct, f'{module}._reconstruct'))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    entries.append((history_buffer_getattr, 'builtins.getattr'))
    return entries


def _registered() -> Tuple[Any, ...]:
    return tuple(torch.serialization.get_safe_globals())


def allow_mmengine_checkpoint_globals() -> None:
    """Add :func:`mmengine_checkpoint_globals` to torch's allow-list (idempotent).

    A no-op on torch versions without ``torch.serialization.add_safe_globals``
    (< 2.4), where ``torch.load`` defaults to full unpickling anyway.
    """
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return
    present = _registered()
    missing = [e for e in mmengine_checkpoint_globals() if e not in present]
    if missing:
        torch.serialization.add_safe_globals(missing)
