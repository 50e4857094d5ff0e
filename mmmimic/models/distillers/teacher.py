"""The frozen teacher: built from a config, loaded from a checkpoint, fed
the student's batch in its own normalisation."""
import copy
import importlib.util
import os.path as osp
import warnings
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.hub import get_config

from mmmimic.registry import MODELS
from mmmimic.utils.compat import preprocessor_normalisation
from mmmimic.utils.model_checkpoint import (
    check_checkpoint_matches,
    checkpoint_state_dict,
)
from mmmimic.utils.safe_load import (
    CheckpointNotFoundError,
    safe_load_checkpoint,
)

TeacherConfig = Union[str, Path, dict, ConfigDict, Config]


def load_detector_config(config: TeacherConfig,
                         key: str = 'teacher_config') -> Config:
    """A detector's whole config (with ``model``) from a path, ``pkg::`` path
    or dict: the teacher's, or the student's in ``make_mimic_config.py``.

    ``key`` names the setting in error messages (tools that load other
    detector configs the same way pass their own argument name).

    Raises:
        FileNotFoundError: a path that does not resolve, naming the key.
        ValueError: a dict that is neither a config nor a model config;
            a file MMEngine cannot read (``ConfigFileError``: another
            suffix, a syntax error, a missing ``_base_``).
    """
    if isinstance(config, (str, Path)):
        path = str(config)
        if '::' in path:
            package = path.split('::', 1)[0]
            if importlib.util.find_spec(package) is None:
                raise FileNotFoundError(
                    f'{key}={path!r}: package {package!r} is not '
                    'installed')
            try:
                return get_config(path)
            except Exception as exc:  # mmengine raises several types here
                raise FileNotFoundError(
                    f'{key}={path!r} does not resolve ({exc}). Use '
                    "'mmdet::<folder>/<file>.py' for a config shipped with an "
                    'installed OpenMMLab package, or a file path.') from exc
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{key}={path!r}: no such file. Give the detector\'s '
                "config file (relative to the working directory), "
                "an 'mmdet::' path, or the model dict itself.")
        # another suffix, a syntax error or a missing _base_: one line
        from mmmimic.utils.config_file import read_config
        return read_config(path, key, check=False)
    if isinstance(config, (dict, ConfigDict, Config)):
        cfg = copy.deepcopy(dict(config))
        if 'model' in cfg:
            return Config(cfg)
        if 'type' in cfg:
            return Config(dict(model=cfg))
    raise ValueError(
        f'{key} must be a config file path, an mmdet:: path or a dict '
        f'(a whole config with `model`, or a model dict with `type`); got '
        f'{type(config).__name__}')


def build_teacher(teacher_config: TeacherConfig) -> nn.Module:
    """Build the teacher in its own config's scope (``default_scope``)."""
    cfg = load_detector_config(teacher_config)
    model_cfg = copy.deepcopy(cfg.model)
    scope = cfg.get('default_scope', None)
    if scope is not None:
        model_cfg.setdefault('_scope_', scope)
    return MODELS.build(model_cfg)


def load_teacher_checkpoint(teacher: nn.Module, teacher_ckpt: Optional[str],
                            key: str = 'model.teacher_ckpt') -> None:
    """Load ``teacher_ckpt`` strictly, with errors that say what to fix.

    Raises:
        CheckpointNotFoundError: the file does not exist.
        DamagedCheckpointError: it is not a checkpoint, or a damaged one.
        UnsafeCheckpointError: its pickle asks for code; nothing ran.
        CheckpointMismatchError: its keys or shapes do not match the teacher
            built from the config.
    """
    if teacher_ckpt is None:
        warnings.warn(
            'FeatureMimicDistiller: teacher_ckpt is None, so the teacher keeps '
            'its initial weights and mimicking it teaches nothing. Set '
            f'{key} to the trained teacher checkpoint.',
            stacklevel=3)
        return
    teacher_ckpt = str(teacher_ckpt)
    if '://' not in teacher_ckpt and not osp.isfile(teacher_ckpt):
        raise CheckpointNotFoundError(
            f'{key}={teacher_ckpt!r}: no such file. Train the teacher '
            'first (python tools/train.py <teacher config> writes '
            'work_dirs/<teacher config name>/) or point the key at its '
            f'checkpoint: --cfg-options {key}=PATH')
    checkpoint = safe_load_checkpoint(teacher_ckpt, map_location='cpu',
                                      key=key)
    state = checkpoint_state_dict(checkpoint)
    check_checkpoint_matches(
        teacher, state, f'{key}={teacher_ckpt!r}',
        what='the teacher built from model.teacher_config',
        hint='Give the checkpoint trained with model.teacher_config, or the '
        'config that checkpoint was trained with.')
    teacher.load_state_dict(state, strict=True)


def same_normalisation(student: nn.Module, teacher: nn.Module) -> bool:
    """Whether two data preprocessors normalise images identically (same
    mean, std and channel order; True when either is not mmdet-like)."""
    s, t = (preprocessor_normalisation(p) for p in (student, teacher))
    if s is None or t is None:
        return True
    same = s.enabled == t.enabled and s.swap_channels == t.swap_channels
    if same and s.enabled:
        same = torch.equal(s.mean.cpu(), t.mean.cpu()) and \
            torch.equal(s.std.cpu(), t.std.cpu())
    return same


def renormalise(inputs: torch.Tensor, student: nn.Module,
                teacher: nn.Module) -> torch.Tensor:
    """The batch as ``teacher``'s preprocessor would have made it from the
    same images.

    Args:
        inputs (Tensor): (B, 3, H, W) as normalised by ``student``.
        student, teacher: mmdet ``DetDataPreprocessor``-like modules.

    Returns:
        Tensor: (B, 3, H, W) in the teacher's mean, std and channel order.
    """
    s = preprocessor_normalisation(student)
    t = preprocessor_normalisation(teacher)
    raw = inputs
    if s.enabled:
        raw = raw * s.std + s.mean
    if s.swap_channels != t.swap_channels:
        raw = raw.flip(1)
    if t.enabled:
        raw = (raw - t.mean) / t.std
    return raw
