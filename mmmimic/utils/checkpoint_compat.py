"""The globals an MMEngine checkpoint may ask for, on every supported torch.

An MMEngine ``Runner`` writes more than tensors into a checkpoint: the message
hub's ``HistoryBuffer`` (with numpy arrays and scalars inside, and its
statistics methods pickled as ``getattr(HistoryBuffer, 'mean')``). mmmimic
admits exactly these globals besides torch's own tensor-rebuilding ones:

- ``mmengine.logging.HistoryBuffer``;
- numpy's array, dtype and scalar reconstruction (``_reconstruct``, ``ndarray``,
  ``dtype``, the numeric dtype classes, ``scalar``) under both numpy 1 and numpy 2
  module names, so checkpoints cross numpy versions;
- ``builtins.getattr`` bound to a restricted stand-in that only returns
  ``HistoryBuffer``'s registered statistics methods and refuses everything else.

Two ways to enforce the list, chosen by what the installed torch can do:

- torch >= 2.6 (:func:`weights_only_accepts_named_globals`): the list is added
  to torch's own ``weights_only`` allow-list
  (:func:`allow_mmengine_checkpoint_globals`), which also lets MMEngine 0.10.7
  resume (it calls ``torch.load`` without ``weights_only``, which defaults to
  True there);
- older torch (``add_safe_globals`` missing before 2.4, not accepting
  ``(object, 'module.name')`` pairs in 2.4-2.5): :data:`restricted_pickle`, a
  pickle module whose ``Unpickler.find_class`` admits the same list and
  nothing else, given to ``torch.load(..., pickle_module=restricted_pickle)``.
"""
import _compat_pickle
import codecs
import collections
import functools
import importlib
import pickle
import types
from typing import Any, Dict, List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from .compat import (
    NUMPY_MULTIARRAY_MODULES,
    history_buffer_statistics,
    numpy_multiarray,
    numpy_reconstruct,
    torch_rebuild_globals,
    torch_user_weights_only_globals,
    torch_weights_only_globals,
)

NUMERIC_DTYPES = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16',
                  'uint32', 'uint64', 'float16', 'float32', 'float64')


class RefusedGlobalError(pickle.UnpicklingError):
    """The pickle asks for a global (or attribute) outside the allow-list."""


class NewerTorchGlobalError(RefusedGlobalError):
    """The pickle asks for a torch global that this torch does not have: it
    was saved by a newer torch."""


def missing_torch_global(qualname: str) -> bool:
    """Whether ``qualname`` (e.g. a tensor-rebuilding function) names
    something in torch's namespace that the installed torch lacks."""
    module, _, name = qualname.rpartition('.')
    if not (module == 'torch' or module.startswith('torch.')):
        return False
    try:
        found = importlib.import_module(module)
    except ImportError:
        return True
    return not hasattr(found, name)


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as unpickling may use it: statistics methods of HistoryBuffer.

    Raises:
        RefusedGlobalError: for any other object or attribute.
    """
    if obj is HistoryBuffer and (
            name in history_buffer_statistics()
            or name in ('min', 'max', 'current', 'mean')):
        return getattr(HistoryBuffer, name)
    raise RefusedGlobalError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); mmmimic only allows '
        'HistoryBuffer statistics methods. If you trust this file, load it '
        'with torch.load(..., weights_only=False).')


def latin1_encode(obj: str, encoding: str = 'latin1',
                  errors: str = 'strict') -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of bytes use it (latin-1)."""
    if codecs.lookup(encoding).name != 'iso8859-1' or not isinstance(obj, str):
        raise RefusedGlobalError(
            f'checkpoint asks for _codecs.encode(..., {encoding!r}); only '
            "'latin1', which pickles of bytes use, is allowed")
    return codecs.encode(obj, encoding, errors)


def mmengine_checkpoint_globals() -> List[Any]:
    """The allow-list entries (objects or ``(object, 'module.name')`` pairs)."""
    multiarray = numpy_multiarray()
    entries: List[Any] = [HistoryBuffer, np.ndarray, np.dtype]
    entries += [type(np.dtype(name)) for name in NUMERIC_DTYPES]
    for module in NUMPY_MULTIARRAY_MODULES:
        entries.append((numpy_reconstruct(), f'{module}.' +
                        numpy_reconstruct().__name__))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    entries.append((history_buffer_getattr, 'builtins.getattr'))
    return entries


def _torch_rebuild_globals() -> Dict[str, Any]:
    """torch's own ``weights_only`` allow-list (tensors, storages, dtypes)."""
    allowed = torch_weights_only_globals()  # empty: a torch without it
    allowed.update(torch_rebuild_globals())
    allowed.update({
        'collections.OrderedDict': collections.OrderedDict,
        'collections.Counter': collections.Counter,
        'torch.Size': torch.Size,
        'torch.device': torch.device,
    })
    for name in ('float16', 'float32', 'float64', 'bfloat16', 'int8', 'int16',
                 'int32', 'int64', 'uint8', 'bool'):
        allowed.setdefault(f'torch.{name}', getattr(torch, name))
    return allowed


@functools.lru_cache(maxsize=None)
def allowed_globals() -> Dict[str, Any]:
    """``'module.name'`` -> object: everything a checkpoint may ask for."""
    allowed = _torch_rebuild_globals()
    for entry in mmengine_checkpoint_globals():
        obj, name = entry if isinstance(entry, tuple) else (
            entry, f'{entry.__module__}.{entry.__qualname__}')
        allowed[name] = obj
    allowed['_codecs.encode'] = latin1_encode
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only :func:`allowed_globals`.

    ``find_class`` is the one door through which a pickle reaches code
    (``GLOBAL``, ``STACK_GLOBAL``, ``EXT*``, and so every ``REDUCE``/``NEWOBJ``
    target); anything not on the list raises :class:`RefusedGlobalError`
    before it is imported, let alone called.
    """

    def find_class(self, module: str, name: str) -> Any:
        # protocol-2 pickles (torch.save's default) use Python 2 names
        module, name = _compat_pickle.NAME_MAPPING.get((module, name),
                                                       (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        obj = allowed_globals().get(f'{module}.{name}')
        if obj is None and missing_torch_global(f'{module}.{name}'):
            raise NewerTorchGlobalError(
                f'Unsupported global: GLOBAL {module}.{name}, which torch '
                f'{torch.__version__} does not have')
        if obj is None:
            raise RefusedGlobalError(
                f'Unsupported global: GLOBAL {module}.{name} is not allowed')
        return obj


def _restricted_load(file, **kwargs) -> Any:
    return RestrictedUnpickler(file, **kwargs).load()


def _restricted_loads(data: bytes, **kwargs) -> Any:
    import io
    return RestrictedUnpickler(io.BytesIO(data), **kwargs).load()


#: A pickle module for ``torch.load(..., weights_only=False,
#: pickle_module=restricted_pickle)``: torch subclasses its ``Unpickler`` and
#: calls its ``load`` for the legacy format's headers.
restricted_pickle = types.ModuleType('mmmimic_restricted_pickle')
restricted_pickle.Unpickler = RestrictedUnpickler
restricted_pickle.load = _restricted_load
restricted_pickle.loads = _restricted_loads
restricted_pickle.UnpicklingError = pickle.UnpicklingError


def _probe_target() -> None:
    """Registered under an alias name to probe torch's allow-list."""


@functools.lru_cache(maxsize=None)
def weights_only_accepts_named_globals() -> bool:
    """Whether torch's ``weights_only`` allow-list takes ``(object,
    'module.name')`` pairs (torch >= 2.6), probed without changing it.

    False on torch < 2.5 (no ``torch.serialization.safe_globals``) and on
    2.5, whose allow-list reads every entry as an object (``AttributeError``
    on a pair).
    """
    serialization = torch.serialization
    if not (hasattr(serialization, 'safe_globals')
            and hasattr(serialization, 'add_safe_globals')):
        return False
    alias = 'mmmimic.utils.checkpoint_compat.probe_alias'
    try:
        with serialization.safe_globals([(_probe_target, alias)]):
            return torch_user_weights_only_globals().get(alias) \
                is _probe_target
    except Exception:
        return False


def allow_mmengine_checkpoint_globals() -> None:
    """Add :func:`mmengine_checkpoint_globals` to torch's allow-list (idempotent).

    Only where torch takes the ``(object, 'module.name')`` pairs
    (:func:`weights_only_accepts_named_globals`); elsewhere a no-op: there,
    ``torch.load`` still defaults to full unpickling (so MMEngine resumes),
    and :func:`mmmimic.utils.safe_load_checkpoint` uses
    :data:`restricted_pickle` instead.
    """
    if not weights_only_accepts_named_globals():
        return
    present = tuple(torch.serialization.get_safe_globals())
    missing = [e for e in mmengine_checkpoint_globals() if e not in present]
    if missing:
        torch.serialization.add_safe_globals(missing)
