"""The one place where mmmimic touches other libraries' private members.

MMDetection, MMEngine, MMCV, torch and numpy do not promise to keep their
underscore members, and a release may rename or remove any of them. Every use
mmmimic makes of one goes through this module, and each is listed in
:data:`PRIVATE_MEMBERS`, which :func:`check_private_members` (run by
``tests/test_utils/test_compat.py`` on every supported stack) looks up on the
installed versions: a release that drops or changes one fails that test with
the member and the version, instead of failing silently in training.

At run time an accessor whose member has gone raises
:class:`PrivateMemberError`, naming the member, the library version and what
mmmimic needed it for.
"""
import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch.nn as nn
from torch import Tensor


class PrivateMemberError(RuntimeError):
    """A private member of another library that mmmimic uses is missing or
    has changed in the installed version."""


@dataclass(frozen=True)
class PrivateMember:
    """One private member that mmmimic relies on.

    Attributes:
        owner (str): ``'module:attribute.path'`` of the object that has it.
        name (str): The member, e.g. ``'_bbox_forward'``.
        package (str): The distribution whose version is reported.
        why (str): What mmmimic uses it for.
        params (tuple[str]): For a function, the parameters mmmimic passes.
        instance (bool): An attribute an ``__init__`` sets (looked up in the
            owner's ``__init__`` source, not on the class).
    """
    owner: str
    name: str
    package: str
    why: str
    params: Tuple[str, ...] = ()
    instance: bool = False

    @property
    def qualname(self) -> str:
        module, _, attribute = self.owner.partition(':')
        return '.'.join(part for part in (module, attribute, self.name)
                        if part)


PRIVATE_MEMBERS: Tuple[PrivateMember, ...] = (
    PrivateMember('mmengine.model:ImgDataPreprocessor', '_enable_normalize',
                  'mmengine', 'whether a preprocessor normalises (the '
                  "teacher's view of the student's batch)", instance=True),
    PrivateMember('mmengine.model:ImgDataPreprocessor', '_channel_conversion',
                  'mmengine', 'whether a preprocessor swaps BGR/RGB',
                  instance=True),
    PrivateMember('mmdet.models.roi_heads:StandardRoIHead', '_bbox_forward',
                  'mmdet', "the RoI heads' outputs on given regions "
                  '(two-stage mimic); the call its OHEM sampler makes',
                  params=('x', 'rois')),
    PrivateMember('mmengine.runner:Runner', '_has_loaded', 'mmengine',
                  'marking a checkpoint as loaded after the safe loader',
                  instance=True),
    PrivateMember('mmengine.runner:Runner', '_resume', 'mmengine',
                  'whether the run resumes (RNG states restored only then)',
                  instance=True),
    PrivateMember('mmengine.runner.checkpoint:', '_load_checkpoint_to_model',
                  'mmengine', 'putting safely loaded weights into the model '
                  "as MMEngine's own loader does",
                  params=('model', 'checkpoint', 'strict', 'revise_keys')),
    PrivateMember('mmengine.config:DictAction', '_parse_iterable', 'mmengine',
                  '--cfg-options values parsed as the command line parses '
                  'them (run_demo --row-options)', params=('val', )),
    PrivateMember('mmengine.config.utils:', '_get_cfg_metainfo', 'mmengine',
                  "an 'mmdet::' config path resolved from the package's "
                  'model index read once per process, not once per path',
                  params=('package_path', 'cfg_path')),
    PrivateMember('mmengine.logging:HistoryBuffer', '_statistics_methods',
                  'mmengine', "the message hub's statistics methods a "
                  'checkpoint may name'),
    PrivateMember('torch.nn:Module', '_apply', 'torch',
                  'the frozen teacher (not a registered submodule) follows '
                  '.to()/.cuda()/.half()', params=('fn', )),
    PrivateMember('torch._utils:', '_rebuild_tensor_v2', 'torch',
                  'the tensor-rebuilding globals a checkpoint may name'),
    PrivateMember('torch._utils:', '_rebuild_parameter', 'torch',
                  'the parameter-rebuilding global a checkpoint may name'),
    PrivateMember('torch.storage:', '_load_from_bytes', 'torch',
                  "the global a plainly pickled tensor's storage names "
                  '(safe_pickle reads those bytes with its own reader)'),
)

#: torch's ``weights_only`` allow-lists; optional (older torch lacks them,
#: and mmmimic then uses its own list)
OPTIONAL_MEMBERS: Tuple[PrivateMember, ...] = (
    PrivateMember('torch._weights_only_unpickler:', '_get_allowed_globals',
                  'torch', "torch's own weights_only allow-list"),
    PrivateMember('torch._weights_only_unpickler:',
                  '_get_user_allowed_globals', 'torch',
                  'probing whether torch takes (object, name) pairs'),
)

# numpy 1 pickles arrays under numpy.core.multiarray, numpy 2 under
# numpy._core.multiarray: a checkpoint may name either
NUMPY_MULTIARRAY_MODULES = ('numpy.core.multiarray', 'numpy._core.multiarray')


def _version(package: str) -> str:
    try:
        return importlib.import_module(package).__version__
    except Exception:  # pragma: no cover - a package without __version__
        return 'unknown'


def _owner(member: PrivateMember) -> Any:
    module, _, path = member.owner.partition(':')
    obj = importlib.import_module(module)
    for part in filter(None, path.split('.')):
        obj = getattr(obj, part)
    return obj


def _missing(member: PrivateMember, detail: str) -> PrivateMemberError:
    return PrivateMemberError(
        f'{member.qualname} {detail} in {member.package} '
        f'{_version(member.package)}; mmmimic uses it for {member.why}. '
        'Install a supported version (docs/en/get_started.md, "Supported '
        'stacks") or report it.')


def check_member(member: PrivateMember) -> Optional[str]:
    """None when ``member`` is as mmmimic expects on the installed version,
    else what is wrong (with the member and the version)."""
    try:
        owner = _owner(member)
    except (ImportError, AttributeError) as err:
        return str(_missing(member, f'cannot be reached ({err})'))
    if member.instance:
        source = inspect.getsource(owner.__init__)
        if f'self.{member.name}' not in source:
            return str(_missing(member, 'is no longer set by __init__'))
        return None
    if not hasattr(owner, member.name):
        return str(_missing(member, 'is gone'))
    if member.params:
        try:
            params = inspect.signature(getattr(owner, member.name)).parameters
        except (TypeError, ValueError):
            return None
        lost = [p for p in member.params if p not in params]
        if lost and not any(p.kind is inspect.Parameter.VAR_KEYWORD
                            for p in params.values()):
            return str(_missing(
                member, f'no longer takes {lost} (its parameters: '
                f'{list(params)})'))
    return None


def check_private_members() -> List[str]:
    """What is wrong with any of :data:`PRIVATE_MEMBERS` here (empty when
    every one is as mmmimic expects)."""
    return [problem for problem in map(check_member, PRIVATE_MEMBERS)
            if problem is not None]


def _get(obj: Any, member: PrivateMember) -> Any:
    try:
        return getattr(obj, member.name)
    except AttributeError:
        raise _missing(member, 'is gone') from None


def _member(owner: str, name: str) -> PrivateMember:
    for member in PRIVATE_MEMBERS + OPTIONAL_MEMBERS:
        if member.owner == owner and member.name == name:
            return member
    raise KeyError(f'{owner}{name} is not listed in PRIVATE_MEMBERS')


# -- MMEngine data preprocessors ------------------------------------------------
@dataclass(frozen=True)
class Normalisation:
    """How an image data preprocessor turns images into the model's input.

    Attributes:
        enabled (bool): Subtracts ``mean`` and divides by ``std``.
        swap_channels (bool): Swaps BGR and RGB.
        mean, std (Tensor | None): (3, 1, 1) when ``enabled``.
    """
    enabled: bool
    swap_channels: bool
    mean: Optional[Tensor] = None
    std: Optional[Tensor] = None


def preprocessor_normalisation(preprocessor: nn.Module
                               ) -> Optional[Normalisation]:
    """The normalisation of an MMEngine ``ImgDataPreprocessor`` (and so of
    mmdet's ``DetDataPreprocessor``); None for a preprocessor of another
    kind."""
    from mmengine.model import ImgDataPreprocessor
    if not isinstance(preprocessor, ImgDataPreprocessor):
        return None
    enabled = bool(_get(preprocessor, _member(
        'mmengine.model:ImgDataPreprocessor', '_enable_normalize')))
    swap = bool(_get(preprocessor, _member(
        'mmengine.model:ImgDataPreprocessor', '_channel_conversion')))
    if not enabled:
        return Normalisation(False, swap)
    return Normalisation(True, swap, preprocessor.mean, preprocessor.std)


# -- MMDetection RoI heads --------------------------------------------------------
def has_bbox_forward(roi_head: Optional[nn.Module]) -> bool:
    """Whether ``roi_head`` follows mmdet's ``_bbox_forward(x, rois)``
    protocol (every ``StandardRoIHead``, and the heads that copy it)."""
    return callable(getattr(roi_head, '_bbox_forward', None))


def bbox_forward(roi_head: nn.Module, x: Tuple[Tensor, ...],
                 rois: Tensor) -> Dict[str, Tensor]:
    """The RoI head's box branch on given regions.

    Args:
        roi_head: An mmdet RoI head (:func:`has_bbox_forward`).
        x (tuple[Tensor]): Its detector's levels, each (B, C, H, W).
        rois (Tensor): (n, 5) ``[batch_idx, x1, y1, x2, y2]`` in the pixels
            of those levels' input.

    Returns:
        dict: ``cls_score`` (n, K + 1), ``bbox_pred`` (n, 4 or 4K), ...
    """
    member = _member('mmdet.models.roi_heads:StandardRoIHead',
                     '_bbox_forward')
    return _get(roi_head, member)(x, rois)


# -- MMEngine runner and checkpoints ---------------------------------------------
def runner_is_resuming(runner: Any) -> bool:
    """Whether the runner was started with ``resume`` (MMEngine keeps it in
    ``runner._resume``)."""
    member = _member('mmengine.runner:Runner', '_resume')
    if not hasattr(runner, member.name):
        raise _missing(member, 'is gone')
    return bool(getattr(runner, member.name))


def mark_checkpoint_loaded(runner: Any) -> None:
    """Tell the runner a checkpoint was loaded (as its ``load_checkpoint``
    does), so that it does not load ``load_from`` again."""
    member = _member('mmengine.runner:Runner', '_has_loaded')
    if not hasattr(runner, member.name):
        raise _missing(member, 'is gone')
    setattr(runner, member.name, True)


def load_checkpoint_to_model(model: nn.Module, checkpoint: dict,
                             strict: bool = False,
                             revise_keys=((r'^module\.', ''), )) -> None:
    """MMEngine's own way of putting a loaded checkpoint into a model (the
    state dict's key revision and its logging of what did not fit)."""
    member = _member('mmengine.runner.checkpoint:',
                     '_load_checkpoint_to_model')
    load = _get(_owner(member), member)
    load(model, checkpoint, strict=strict, revise_keys=list(revise_keys))


def parse_cfg_option_value(text: str) -> Any:
    """A ``--cfg-options`` value as MMEngine's command line parses it
    (numbers, tuples, lists, ``None``, strings)."""
    from mmengine.config import DictAction
    member = _member('mmengine.config:DictAction', '_parse_iterable')
    return _get(DictAction, member)(text)


def cache_external_config_index() -> None:
    """Resolve each ``'package::path'`` config (``mmdet::...``) from the
    package's model index once per process.

    MMEngine reads the whole index of the package (``model-index.yml`` and
    every metafile it lists: about 1500 YAML files for MMDetection, half a
    second) each time it resolves such a path, and a config chain, or a tool
    that reads several configs, resolves the same path many times. The index
    is the installed package's, fixed while a process runs. The outcome of
    each lookup (the entry, or the ValueError MMEngine then falls back on) is
    kept; each caller gets its own copy of the entry.
    """
    import copy
    import functools

    import mmengine.config.utils as config_utils
    member = _member('mmengine.config.utils:', '_get_cfg_metainfo')
    original = _get(config_utils, member)
    if getattr(original, 'mmmimic_cached', False):
        return
    outcomes: Dict[Tuple[str, str], Tuple[bool, Any]] = {}

    @functools.wraps(original)
    def cached(package_path: str, cfg_path: str) -> dict:
        key = (package_path, cfg_path)
        if key not in outcomes:
            try:
                outcomes[key] = (True, original(package_path, cfg_path))
            except ValueError as error:
                # (the usual outcome: MMEngine asks for every base config,
                # which no metafile lists, and then reads it from the folder)
                outcomes[key] = (False, error.args)
        found, value = outcomes[key]
        if not found:
            raise ValueError(*value)
        return copy.deepcopy(value)

    cached.mmmimic_cached = True
    setattr(config_utils, member.name, cached)


def history_buffer_statistics() -> Tuple[str, ...]:
    """The statistics methods registered on MMEngine's ``HistoryBuffer``."""
    from mmengine.logging import HistoryBuffer
    member = _member('mmengine.logging:HistoryBuffer', '_statistics_methods')
    return tuple(_get(HistoryBuffer, member))


# -- torch and numpy internals of checkpoints ---------------------------------------
def torch_rebuild_globals() -> Dict[str, Callable]:
    """The torch functions a tensor's pickle names, by pickle name."""
    import torch._utils as torch_utils
    return {
        f'torch._utils.{name}': _get(torch_utils,
                                     _member('torch._utils:', name))
        for name in ('_rebuild_tensor_v2', '_rebuild_parameter')}


def torch_storage_pickle_name() -> str:
    """The pickle name of the function a plainly pickled tensor's storage
    calls while it loads (checked against this torch)."""
    import torch.storage as torch_storage
    member = _member('torch.storage:', '_load_from_bytes')
    _get(torch_storage, member)
    return member.qualname


def torch_weights_only_globals() -> Dict[str, Any]:
    """torch's own ``weights_only`` allow-list (empty where this torch does
    not expose it)."""
    try:
        from torch._weights_only_unpickler import _get_allowed_globals
        return dict(_get_allowed_globals())
    except (ImportError, AttributeError):
        return {}


def torch_user_weights_only_globals() -> Dict[str, Any]:
    """What ``torch.serialization.add_safe_globals`` registered, by name.

    Raises:
        ImportError: this torch has no such list.
    """
    from torch._weights_only_unpickler import _get_user_allowed_globals
    return _get_user_allowed_globals()


def numpy_multiarray() -> Any:
    """numpy's ``multiarray`` module, whichever of its two names (numpy 1 or
    2) this numpy has."""
    import numpy as np
    return np.core.multiarray if hasattr(np, 'core') else \
        importlib.import_module(NUMPY_MULTIARRAY_MODULES[1])


def numpy_reconstruct() -> Callable:
    """The function numpy's array pickles name (``multiarray._reconstruct``)."""
    return numpy_multiarray()._reconstruct


# -- torch modules ----------------------------------------------------------------
class CarriesUnregisteredModules:
    """A mixin for an ``nn.Module`` that holds modules it does not register
    (absent from its state dict, parameters and optimizer), but which should
    follow it to another device or dtype.

    The names of those attributes are in ``unregistered_modules``. torch
    moves modules through the private ``nn.Module._apply``, which this mixin
    extends (the way torch's own modules with buffers outside the state dict
    do).
    """
    unregistered_modules: Tuple[str, ...] = ()

    def _apply(self, fn, *args, **kwargs):
        for name in self.unregistered_modules:
            module = self.__dict__.get(name)
            if module is not None:
                module._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)


__all__ = [
    'PrivateMemberError', 'PrivateMember', 'PRIVATE_MEMBERS',
    'OPTIONAL_MEMBERS', 'NUMPY_MULTIARRAY_MODULES', 'check_member',
    'check_private_members', 'Normalisation', 'preprocessor_normalisation',
    'has_bbox_forward', 'bbox_forward', 'runner_is_resuming',
    'mark_checkpoint_loaded', 'load_checkpoint_to_model',
    'parse_cfg_option_value', 'history_buffer_statistics',
    'torch_rebuild_globals', 'torch_weights_only_globals',
    'torch_user_weights_only_globals', 'numpy_multiarray',
    'numpy_reconstruct', 'CarriesUnregisteredModules'
]
