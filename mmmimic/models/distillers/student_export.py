"""Turn a trained mimic run into a plain MMDetection model (config + weights).

The student inside :class:`FeatureMimicDistiller` is an ordinary two-stage
detector; the distiller adds the teacher, the mimic loss, the region sampler,
the training-only adapter ``r`` and, optionally, a resize of the batch for the
student. The export keeps the student and its input scaling, and drops the rest.
"""
import copy
import datetime
import os
import os.path as osp
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from mmmimic.utils.atomic import (
    DestinationError,
    atomic_path,
    check_destination,
    file_sha256,
)
from mmmimic.utils.cli import stem_problem
from mmmimic.utils.config_file import read_config
from mmmimic.utils.model_checkpoint import check_checkpoint_matches
from mmmimic.utils.safe_load import (
    CheckpointMismatchError,
    safe_load_checkpoint,
)
from mmmimic.version import __version__

STUDENT_TYPE = 'TwoStageDetector'
# mmmimic hooks that only matter while training
TRAINING_ONLY_HOOKS = ('RNGStateHook', 'MimicScheduleHook')


class ExportError(ValueError):
    """The config or checkpoint is not a mimic run that can be exported."""


def _mmmimic_names() -> Dict[str, set]:
    """Names registered by mmmimic itself, per registry."""
    from mmmimic import registry
    names = {}
    for attr in dir(registry):
        node = getattr(registry, attr)
        if hasattr(node, 'module_dict') and getattr(node, 'scope', None) == \
                registry.SCOPE:
            names[attr] = set(node.module_dict)
    return names


def _scope_types(node: Any, ours: set, found: List[str]) -> Any:
    """Rewrite types for the ``mmdet`` scope of the exported config.

    Unscoped mmmimic types get ``mmmimic.``; ``mmdet.`` prefixes are removed (in
    MMEngine a name prefixed with the registry's own scope is only looked up in
    that registry, so ``mmdet.LoadImageFromFile``, registered by mmcv, would
    not resolve from the mmdet scope). Every mmmimic type is recorded in
    ``found``.
    """
    if isinstance(node, dict):
        node = type(node)({k: _scope_types(v, ours, found)
                           for k, v in node.items()})
        kind = node.get('type')
        if isinstance(kind, str):
            if '.' not in kind and kind in ours:
                node['type'] = f'mmmimic.{kind}'
            elif kind.startswith('mmdet.'):
                node['type'] = kind[len('mmdet.'):]
            if node['type'].startswith('mmmimic.'):
                found.append(node['type'])
        return node
    if isinstance(node, (list, tuple)):
        return type(node)(_scope_types(v, ours, found) for v in node)
    return node


def distiller_class(model_cfg: dict) -> Optional[type]:
    """The :class:`FeatureMimicDistiller` (sub)class a model config builds,
    or None for any other model."""
    from mmmimic.models.distillers import FeatureMimicDistiller
    from mmmimic.registry import MODELS
    kind = model_cfg.get('type')
    if isinstance(kind, str):
        with DefaultScope.overwrite_default_scope('mmmimic'):
            kind = MODELS.get(kind)
    if isinstance(kind, type) and issubclass(kind, FeatureMimicDistiller):
        return kind
    return None


def student_config(cfg: Config) -> Tuple[Config, List[str]]:
    """The plain-MMDetection config of the distiller's student.

    Returns:
        tuple: the config (``default_scope='mmdet'``, model type
        ``model.student_type`` or ``TwoStageDetector``, mmmimic components
        as ``mmmimic.X`` with ``custom_imports`` when any remain) and the
        mmmimic types it keeps.
    """
    distiller = distiller_class(cfg.model) if 'model' in cfg else None
    if distiller is None:
        raise ExportError(
            f'model.type={cfg.get("model", {}).get("type")!r} is not a '
            'FeatureMimicDistiller: give the mimic config the checkpoint was '
            'trained with')
    out = copy.deepcopy(cfg.to_dict())
    model = out['model']
    scale = float(model.get('student_input_scale', 1.0))
    student_type = model.get('student_type') or STUDENT_TYPE
    for key in distiller.distiller_keys():
        model.pop(key, None)
    model['type'] = student_type
    if scale != 1.0:
        preprocessor = model.get('data_preprocessor') or dict(
            type='DetDataPreprocessor')
        preprocessor = dict(preprocessor, type='ScaledDetDataPreprocessor',
                            input_scale=scale)
        model['data_preprocessor'] = preprocessor
    # training-only runtime of ours: the exported model does not need it
    hooks = [h for h in out.get('custom_hooks') or []
             if str(h.get('type', '')).split('.')[-1] not in TRAINING_ONLY_HOOKS]
    if hooks:
        out['custom_hooks'] = hooks
    else:
        out.pop('custom_hooks', None)
    ours = set().union(*_mmmimic_names().values())
    found: List[str] = []
    out = _scope_types(out, ours, found)
    out['default_scope'] = 'mmdet'
    out['load_from'] = None
    out['resume'] = False
    out.pop('work_dir', None)
    imports = [m for m in (out.get('custom_imports') or {}).get('imports', [])
               if m != 'mmmimic']
    if found:
        imports.append('mmmimic')
    if imports:
        out['custom_imports'] = dict(imports=imports,
                                     allow_failed_imports=False)
    else:
        out.pop('custom_imports', None)
    return Config(out), sorted(set(found))


def student_state_dict(checkpoint: dict, distiller: Optional[type] = None
                       ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """The student's weights of a distiller checkpoint, and the dropped keys
    (those of ``distiller.TRAINING_ONLY``; default: the class
    :class:`FeatureMimicDistiller`)."""
    if distiller is None:
        from mmmimic.models.distillers import FeatureMimicDistiller
        distiller = FeatureMimicDistiller
    training_only = tuple(f'{name}.' for name in distiller.TRAINING_ONLY)
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict):
        raise ExportError('the checkpoint holds no state_dict')
    kept, dropped = {}, []
    for key, value in state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        if key.startswith(training_only):
            dropped.append(key)
        else:
            kept[key] = value
    return kept, dropped


def export_student(config: str, checkpoint: str, out_dir: str,
                   name: Optional[str] = None,
                   cfg_options: Optional[dict] = None,
                   overwrite: bool = False) -> Tuple[str, str]:
    """Write ``OUT_DIR/NAME.py`` and ``OUT_DIR/NAME.pth`` for the student.

    The weights are checked by loading them strictly into the exported model;
    both files appear only when everything succeeded. An existing export is
    never replaced unless ``overwrite`` is True.

    Args:
        config (str): The mimic config the checkpoint was trained with.
        checkpoint (str): A checkpoint of that run (read with
            ``weights_only=True``).
        out_dir (str): Output folder (created).
        name (str, optional): File stem; default ``<config name>_student``.
        cfg_options (dict, optional): Overrides merged into ``config`` first.
        overwrite (bool): Replace ``NAME.py``/``NAME.pth`` if they exist.

    Returns:
        tuple[str, str]: The config and checkpoint paths.

    Raises:
        FileExistsError: ``NAME.py`` or ``NAME.pth`` exists and not
            ``overwrite``; checked before anything is read.
    """
    problem = None if name is None else stem_problem(name)
    if problem:
        raise ExportError(f'--name {problem}')
    name = name or f'{osp.splitext(osp.basename(config))[0]}_student'
    cfg_path = osp.join(out_dir, f'{name}.py')
    ckpt_path = osp.join(out_dir, f'{name}.pth')
    for path in (cfg_path, ckpt_path):
        # never over the inputs or a file they load (the config's _base_
        # chain: the student config a mimic config inherits), --overwrite
        # or not
        try:
            check_destination(path, [config, checkpoint], overwrite=True)
        except DestinationError as err:
            raise ExportError(str(err)) from None
    existing = [p for p in (cfg_path, ckpt_path) if osp.lexists(p)]
    if existing and not overwrite:
        raise FileExistsError(
            f'{" and ".join(existing)} already exist(s): refusing to replace '
            'an earlier export. Pass --overwrite (overwrite=True), another '
            '--name or another OUT_DIR.')
    try:
        deploy = _deployable(config, checkpoint, cfg_options,
                             require_distiller=True)
    except CheckpointMismatchError as e:
        raise ExportError(f'{checkpoint} does not match {config}: {e}') from e

    old_meta = deploy.checkpoint.get('meta') or {}
    meta = dict(
        mmmimic_export=dict(
            source_config=osp.abspath(config),
            source_checkpoint=osp.abspath(checkpoint)
            if '://' not in checkpoint else checkpoint,
            source_sha256=file_sha256(checkpoint)
            if osp.isfile(checkpoint) else None,
            source_iter=old_meta.get('iter'),
            source_epoch=old_meta.get('epoch'),
            dropped_keys=deploy.dropped,
            kept_mmmimic_types=deploy.kept_types,
            mmmimic_version=__version__,
            time=datetime.datetime.now().isoformat(timespec='seconds')))
    for key in ('dataset_meta', 'mmdet_version', 'mmengine_version',
                'experiment_name', 'seed'):
        if key in old_meta:
            meta[key] = old_meta[key]

    os.makedirs(out_dir, exist_ok=True)
    # both written to temporary names first: a failure leaves neither
    with atomic_path(cfg_path) as cfg_tmp, atomic_path(ckpt_path) as ckpt_tmp:
        deploy.cfg.dump(cfg_tmp)
        torch.save(dict(state_dict=deploy.state, meta=meta), ckpt_tmp)
    return cfg_path, ckpt_path


def check_adapter_weights(adapter_cfg: dict, dropped: List[str],
                          checkpoint: str, config: str) -> None:
    """A mimic run's checkpoint holds the weights of the adapter its config
    trains; without them it is not a checkpoint of that run (e.g. the
    student trained alone), whose student would be exported under the
    mimic run's name."""
    from mmmimic.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmmimic'):
        adapter = MODELS.build(ConfigDict(adapter_cfg))
    expected = {f'mimic_adapter.{k}' for k in adapter.state_dict()}
    if expected and not expected & set(dropped):
        raise ExportError(
            f'CHECKPOINT={checkpoint!r} has none of the mimic adapter\'s '
            f'weights ({sorted(expected)[:2]} ...) that {config} trains: it '
            'is not a checkpoint of this mimic run (a student trained '
            'alone?). Export the checkpoint of the mimic run, or use the '
            'student\'s own config for a student trained alone.')


class _Deployable(NamedTuple):
    cfg: Config                  # the config it deploys with
    kept_types: List[str]        # mmmimic types that config keeps
    model: torch.nn.Module       # built, weights loaded strictly
    state: Dict[str, Any]        # its weights
    dropped: List[str]           # checkpoint keys it does not keep
    checkpoint: dict             # the checkpoint as loaded


def _deployable(config: str, checkpoint: str, cfg_options: Optional[dict],
                require_distiller: bool = False) -> _Deployable:
    """What a checkpoint deploys as: for a mimic run its student
    (:func:`student_config`, :func:`student_state_dict`), else the config's
    own model; built and loaded strictly.

    Returns:
        _Deployable: the config, the mmmimic types it keeps, the model, its
        weights, the checkpoint keys dropped, the checkpoint.

    Raises:
        ExportError: ``require_distiller`` and not a mimic config (checked
            before the checkpoint is read), or no MMEngine checkpoint.
        CheckpointMismatchError: the weights do not fit the model.
    """
    from mmmimic.registry import build_in_config_scope
    cfg = read_config(config, cfg_options=cfg_options)
    distiller = distiller_class(cfg.model) if 'model' in cfg else None
    adapter_cfg = cfg.model.get('mimic_adapter') if distiller is not None \
        else None
    kept_types: List[str] = []
    if distiller is not None or require_distiller:
        cfg, kept_types = student_config(cfg)
    ckpt = safe_load_checkpoint(checkpoint, map_location='cpu',
                                key='CHECKPOINT')
    if not isinstance(ckpt, dict):
        raise ExportError(f'{checkpoint}: not an MMEngine checkpoint')
    state, dropped = student_state_dict(ckpt, distiller) \
        if distiller is not None else (ckpt.get('state_dict', ckpt), [])
    model = build_in_config_scope(dict(cfg, model=ConfigDict(cfg.model)))
    check_checkpoint_matches(model, state, f'CHECKPOINT={checkpoint!r}',
                             what=f'the deployed model of {config}')
    if adapter_cfg is not None:
        check_adapter_weights(adapter_cfg, dropped, checkpoint, config)
    model.load_state_dict(state, strict=True)
    return _Deployable(cfg, kept_types, model, state, dropped, ckpt)


def deployed_model(config: str, checkpoint: str,
                   cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """The model a checkpoint deploys as, in eval mode: for a mimic run its
    student as :func:`export_student` writes it (same config, same weights,
    without writing files), else the config's model with the checkpoint's
    weights (loaded strictly)."""
    return _deployable(config, checkpoint, cfg_options).model.eval()
