"""Checkpoints against the model they are meant for.

MMEngine loads non-strictly: a checkpoint of another model leaves the
tensors it lacks at their random initial values, and the run goes on. Here a
checkpoint is compared with the model first (:func:`check_checkpoint_matches`)
and refused, naming a few keys and shapes, when it does not fit.
:func:`use_checked_loading` makes a ``Runner``'s ``load_from`` go through the
same reader and check (``tools/test.py``).
"""
import logging
import re
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.logging import print_log

from .compat import load_checkpoint_to_model, mark_checkpoint_loaded
from .safe_load import (
    CheckpointMismatchError,
    DamagedCheckpointError,
    safe_load_checkpoint,
)


class StateDictDiff(NamedTuple):
    """How a checkpoint's ``state_dict`` differs from a model's."""

    missing: List[str]
    unexpected: List[str]
    mismatched: List[str]   # 'key: (shape in the file), (shape in the model)'

    def summary(self, what: str = 'the model', limit: int = 5) -> str:
        """One sentence listing up to ``limit`` keys of each kind."""
        parts = []
        for label, keys in (
                (f'of {what} missing from the file', self.missing),
                (f'in the file unexpected by {what}', self.unexpected),
                ('with another shape', self.mismatched)):
            if keys:
                more = f' and {len(keys) - limit} more' \
                    if len(keys) > limit else ''
                parts.append(f'{len(keys)} key(s) {label}: '
                             f'{keys[:limit]}{more}')
        return '; '.join(parts)


def checkpoint_state_dict(checkpoint: Any) -> Dict[str, Any]:
    """The ``state_dict`` of a checkpoint (or the checkpoint itself when it is
    one), with a DDP ``module.`` prefix removed."""
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else checkpoint
    if not isinstance(state, dict):
        raise CheckpointMismatchError(
            f'the checkpoint holds a {type(state).__name__}, not a state_dict')
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


def compare_state_dict(model: nn.Module, state: Dict[str, Any]) -> StateDictDiff:
    """Keys of ``model.state_dict()`` missing from ``state``, keys of ``state``
    the model lacks, and keys whose shapes differ."""
    own = model.state_dict()
    mismatched = [
        f'{k}: {tuple(state[k].shape)} in the file, {tuple(v.shape)} in the '
        'model' for k, v in own.items()
        if k in state and hasattr(state[k], 'shape')
        and tuple(state[k].shape) != tuple(v.shape)]
    return StateDictDiff(missing=[k for k in own if k not in state],
                         unexpected=[k for k in state if k not in own],
                         mismatched=mismatched)


def check_checkpoint_matches(model: nn.Module, state: Dict[str, Any],
                             name: str, what: str = 'the model',
                             allow_unexpected: bool = False,
                             hint: str = '') -> StateDictDiff:
    """Raise :class:`CheckpointMismatchError` unless ``state`` fits ``model``.

    Args:
        name (str): ``key='path'`` of the file, for the message.
        what (str): What the model is, e.g. ``'the teacher built from
            model.teacher_config'``.
        allow_unexpected (bool): Only warn about keys the model lacks (a mimic
            checkpoint tested with its student's plain config carries the
            training-only adapter).
        hint (str): Appended to the message: how to fix or override.

    Returns:
        StateDictDiff: The (acceptable) differences.
    """
    diff = compare_state_dict(model, state)
    unexpected = [] if allow_unexpected else diff.unexpected
    if diff.missing or diff.mismatched or unexpected:
        shown = diff if not allow_unexpected else StateDictDiff(
            diff.missing, [], diff.mismatched)
        raise CheckpointMismatchError(
            f'{name} is a checkpoint of another model: '
            f'{shown.summary(what)}. Is it the checkpoint of this config? '
            f'{hint}'.strip())
    if diff.unexpected:
        print_log(f'{name}: {len(diff.unexpected)} key(s) of the file are not '
                  f'in {what} and are ignored: {diff.unexpected[:5]}',
                  logger='current', level=logging.WARNING)
    check_finite(state, name)
    return diff


def check_finite(state: Dict[str, Any], name: str) -> None:
    """Raise :class:`DamagedCheckpointError` naming the first floating-point
    tensor of ``state`` that holds NaN or inf (weights of a diverged run,
    or a damaged file): nothing is loaded or trained from it."""
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() \
                and not torch.isfinite(value).all():
            bad = int((~torch.isfinite(value)).sum())
            raise DamagedCheckpointError(
                f'{name}: {key} holds {bad} NaN or inf value(s) of '
                f'{value.numel()}: the weights are not usable (a run that '
                'diverged?); use an earlier checkpoint of that run')


def load_checked_weights(model: nn.Module, filename: str,
                         key: str = 'CHECKPOINT',
                         optional_prefixes: Sequence[str] = ()) -> None:
    """Load the weights of ``filename`` into ``model`` through the safe
    loader, refusing a checkpoint of another model (keys the file has and the
    model lacks are ignored; the model's keys under ``optional_prefixes``
    may be absent from the file and keep their values).

    Raises:
        CheckpointNotFoundError, DamagedCheckpointError,
        UnsafeCheckpointError, CheckpointMismatchError: naming ``key``.
    """
    state = checkpoint_state_dict(safe_load_checkpoint(
        filename, map_location='cpu', key=key))
    prefixes = tuple(optional_prefixes)
    if prefixes:
        kept = {k: v for k, v in model.state_dict().items()
                if k.startswith(prefixes)}
        state = {**kept, **state}
    check_checkpoint_matches(model, state, f'{key}={filename!r}',
                             allow_unexpected=True)
    model.load_state_dict(state, strict=False)


def _target_model(model: nn.Module) -> nn.Module:
    """The module a checkpoint's keys address: unwrap DDP and TTA wrappers."""
    from mmengine.model import BaseTTAModel, is_model_wrapper
    while True:
        if is_model_wrapper(model) or isinstance(model, BaseTTAModel):
            model = model.module
        else:
            return model


def use_checked_loading(runner, key: str = 'CHECKPOINT', strict: bool = True,
                        hint: str = '', resume_key: str = '--resume') -> None:
    """Route ``runner.load_checkpoint`` (``load_from``) through
    :func:`safe_load_checkpoint` and :func:`check_checkpoint_matches`.

    It runs where MMEngine loads, after the ``before_run`` hooks, and calls the
    ``after_load_checkpoint`` hooks as MMEngine does.

    Args:
        runner (Runner): Built, not yet run.
        key (str): The argument that named the checkpoint, for messages.
        resume_key (str): The argument that asks to resume, for messages:
            ``runner.resume`` loads through the same function and needs a
            training checkpoint (``meta.iter``); a file of weights only is
            refused, naming ``key`` as the way to start from its weights.
        strict (bool): Refuse missing and reshaped keys (unexpected keys only
            warn); False loads what fits, as MMEngine does, with a warning.
        hint (str): How to override, appended to a refusal.
    """

    def load_checkpoint(filename: str, map_location: Any = 'cpu',
                        strict_: Optional[bool] = None, revise_keys=None,
                        **kwargs) -> dict:
        name = resume_key if resuming else key
        checkpoint = safe_load_checkpoint(filename, map_location=map_location,
                                          key=name)
        if not isinstance(checkpoint, dict):
            checkpoint = dict(state_dict=checkpoint)
        meta = checkpoint.get('meta')
        if resuming and (not isinstance(meta, dict) or 'iter' not in meta
                         or 'optimizer' not in checkpoint):
            raise CheckpointMismatchError(
                f'{name}={filename!r} is not a training checkpoint of a '
                'runner (no meta.iter or optimizer state): it cannot be '
                'resumed. To start a new run from its weights, pass '
                f'--cfg-options load_from={filename} without --resume')
        runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = _target_model(runner.model)
        state = checkpoint_state_dict(checkpoint)
        name = f'{name}={filename!r}'
        if strict:
            check_checkpoint_matches(model, state, name, hint=hint,
                                     allow_unexpected=True)
        else:
            diff = compare_state_dict(model, state)
            if diff.missing or diff.mismatched:
                print_log(f'{name}: loading what fits: {diff.summary()}',
                          logger='current', level=logging.WARNING)
            state = {k: v for k, v in state.items()
                     if k not in {m.split(':')[0] for m in diff.mismatched}}
        checkpoint['state_dict'] = state
        load_checkpoint_to_model(model, checkpoint)
        mark_checkpoint_loaded(runner)
        runner.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    resuming = []

    def resume(filename: str, *args, **kwargs):
        # MMEngine's resume reads the file through runner.load_checkpoint
        resuming.append(filename)
        try:
            return mmengine_resume(filename, *args, **kwargs)
        finally:
            resuming.pop()

    mmengine_resume = runner.resume
    runner.load_checkpoint = load_checkpoint
    runner.resume = resume
