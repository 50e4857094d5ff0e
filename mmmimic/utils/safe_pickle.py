"""One reader for every plain pickle a tool or library function opens from a
user's path (prediction dumps of ``tools/test.py --out``, results files):
it builds only what such files hold and never runs code.

A pickle is a program: any global it names is imported and may be called
while it loads. :func:`safe_load_pickle` reads with the checkpoint loader's
restricted unpickler (:class:`~.checkpoint_compat.RestrictedUnpickler`:
builtins containers and scalars, numpy arrays, dtypes and scalars, tensors),
plus the one function a plainly pickled tensor's storage asks for (its
name: :func:`~.compat.torch_storage_pickle_name`), replaced by a reader of
the same bytes that is itself restricted. Anything else is refused before it
is imported, naming the file and the global.
"""
import io
import os.path as osp
import pickle
import warnings
from typing import Any, Dict

import torch

from .checkpoint_compat import (
    RefusedGlobalError,
    RestrictedUnpickler,
    restricted_pickle,
)
from .compat import torch_storage_pickle_name


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle that asks for code; nothing of it has run."""


class DamagedPickleError(ValueError):
    """A file that is not a pickle, or a damaged one."""


def _storage_from_bytes(data: bytes):
    """What torch's storage-from-bytes function does for a pickled tensor's
    storage (``torch.save`` bytes), through the restricted unpickler."""
    if not isinstance(data, (bytes, bytearray)):
        raise RefusedGlobalError('a storage that is not bytes')
    buffer = io.BytesIO(bytes(data))
    with warnings.catch_warnings():
        # (torch notes the pickle protocol of plainly pickled storages)
        warnings.simplefilter('ignore', UserWarning)
        try:
            return torch.load(buffer, weights_only=True)
        except TypeError:   # a torch without weights_only
            buffer.seek(0)
            return torch.load(buffer, pickle_module=restricted_pickle)
        except pickle.UnpicklingError as err:
            if 'Weights only load failed' not in str(err):
                raise
            reason = [line for line in str(err).splitlines()
                      if 'GLOBAL' in line or 'Unsupported' in line]
            raise RefusedGlobalError(
                'a tensor storage that asks for code' +
                (f' ({reason[0].strip()})' if reason else '')) from None


class DataUnpickler(RestrictedUnpickler):
    """:class:`RestrictedUnpickler` plus pickled tensors' storages."""
    EXTRA: Dict[str, Any] = {torch_storage_pickle_name(): _storage_from_bytes}

    def find_class(self, module: str, name: str) -> Any:
        found = self.EXTRA.get(f'{module}.{name}')
        return found if found is not None else super().find_class(module,
                                                                    name)


def safe_load_pickle(path: str, what: str = 'pickle file') -> Any:
    """The object pickled in ``path``, built from data types only.

    Args:
        path (str): The file.
        what (str): What the file is to the caller (names it in errors, e.g.
            ``'--out predictions file'``).

    Raises:
        FileNotFoundError: no such file.
        DamagedPickleError: not a pickle, or cut short.
        UnsafePickleError: it asks for code (a global that is not a data
            type); nothing of it ran.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path}: no such file')
    with open(path, 'rb') as f:
        try:
            return DataUnpickler(f).load()
        except RefusedGlobalError as err:
            raise UnsafePickleError(
                f'{what} {path} asks for code ({err}); it was not loaded and '
                'nothing of it ran. Prediction dumps hold only tensors, arrays '
                'and plain containers: make it again with tools/test.py --out'
            ) from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError,
                AttributeError, IndexError, KeyError, MemoryError,
                OverflowError) as err:   # (a size larger than memory too)
            raise DamagedPickleError(
                f'{what} {path} is not a readable pickle ({type(err).__name__}:'
                f' {err}); make it again with tools/test.py --out') from None


__all__ = ['safe_load_pickle', 'UnsafePickleError', 'DamagedPickleError',
           'DataUnpickler']
