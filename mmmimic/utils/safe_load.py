"""Checkpoint reading that never runs code from the file.

Teacher checkpoints and the inputs of the student export come from elsewhere
(a colleague, a model zoo). They are read with ``torch.load(weights_only=True)``,
whose unpickler only builds tensors, containers and the allow-listed types that
MMEngine writes into ``meta`` and ``message_hub``
(:func:`allow_mmengine_checkpoint_globals`). Anything else -- a pickle that
would call ``os.system`` or create a file -- is refused before it runs.
"""
import io
import os.path as osp
import pickle
from typing import Any, Optional

import torch
from mmengine.fileio import get as read_bytes

from .checkpoint_compat import allow_mmengine_checkpoint_globals


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint whose pickle asks for more than weights and metadata."""


def safe_load_checkpoint(filename: str,
                         map_location: Optional[Any] = 'cpu') -> Any:
    """``torch.load(filename, weights_only=True)`` with MMEngine's metadata types.

    Args:
        filename (str): Local path, ``http(s)://`` URL (downloaded to torch's
            hub cache) or any URI MMEngine's file backends read.
        map_location: As for :func:`torch.load`.

    Raises:
        FileNotFoundError: a local path that does not exist.
        UnsafeCheckpointError: the pickle needs a global outside the allow-list
            (code, arbitrary objects); nothing from it has run.
    """
    allow_mmengine_checkpoint_globals()
    try:
        if filename.startswith(('http://', 'https://')):
            return torch.hub.load_state_dict_from_url(
                filename, map_location=map_location, weights_only=True)
        if '://' not in filename:
            if not osp.isfile(filename):
                raise FileNotFoundError(f'{filename}: no such file')
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
        return torch.load(io.BytesIO(read_bytes(filename)),
                          map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()
        detail = next((line for line in reason if 'GLOBAL' in line
                       or 'Unsupported' in line), reason[0] if reason else '')
        detail = detail.split(' Please use')[0].strip()
        raise UnsafeCheckpointError(
            f'{filename}: refused to load. Its pickle asks for more than '
            f'tensors and MMEngine metadata ({detail}), so loading it could '
            'run code; nothing from it was executed. Use a checkpoint '
            'written by MMEngine/MMDetection, or, only if you trust the file, '
            "re-save its weights: torch.save({'state_dict': torch.load(f, "
            "weights_only=False)['state_dict']}, 'clean.pth').") from None
