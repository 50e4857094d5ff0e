"""mmmimic's registry nodes.

Each node is a child of MMDetection's node of the same kind, which is itself a
child of MMEngine's root, so in the ``mmmimic`` scope a name is looked up in
mmmimic, then mmdet, then MMEngine. That matters because mmdet builds many
defaults without a scope prefix (``MaxIoUAssigner`` builds
``dict(type='BboxOverlaps2D')``): with plain children of MMEngine's roots those
would fail in the ``mmmimic`` scope. Other packages are reached with their prefix
(``mmpretrain.MobileNetV2``), ours from other scopes as ``mmmimic.X``.
See https://mmengine.readthedocs.io/en/latest/advanced_tutorials/registry.html
"""
import copy
from typing import Any

from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import EVALUATOR as MMDET_EVALUATOR
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOG_PROCESSORS as MMDET_LOG_PROCESSORS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODEL_WRAPPERS as MMDET_MODEL_WRAPPERS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS as MMDET_OPTIM_WRAPPER_CONSTRUCTORS,
)
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import OPTIMIZERS as MMDET_OPTIMIZERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import RUNNER_CONSTRUCTORS as MMDET_RUNNER_CONSTRUCTORS
from mmdet.registry import RUNNERS as MMDET_RUNNERS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISBACKENDS as MMDET_VISBACKENDS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmdet.registry import WEIGHT_INITIALIZERS as MMDET_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'mmmimic'

# runners, loops, hooks, optimisation: the nodes exist so that the mmmimic scope
# resolves through mmdet's nodes to MMEngine's; mmmimic adds RNGStateHook and
# DeviceAmpOptimWrapper (mmmimic.engine)
RUNNERS = Registry('runner', parent=MMDET_RUNNERS, scope=SCOPE)
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMDET_RUNNER_CONSTRUCTORS, scope=SCOPE)
LOOPS = Registry('loop', parent=MMDET_LOOPS, scope=SCOPE)
HOOKS = Registry('hook', parent=MMDET_HOOKS, scope=SCOPE,
                 locations=['mmmimic.engine'])

# data
DATASETS = Registry('dataset', parent=MMDET_DATASETS, scope=SCOPE,
                    locations=['mmmimic.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMDET_DATA_SAMPLERS,
                         scope=SCOPE, locations=['mmmimic.datasets'])
TRANSFORMS = Registry('transform', parent=MMDET_TRANSFORMS, scope=SCOPE,
                      locations=['mmmimic.datasets'])

# models: detectors, backbones, necks, heads, losses
MODELS = Registry('model', parent=MMDET_MODELS, scope=SCOPE,
                  locations=['mmmimic.models', 'mmmimic.deployment'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMDET_MODEL_WRAPPERS,
                          scope=SCOPE, locations=['mmmimic.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMDET_WEIGHT_INITIALIZERS, scope=SCOPE,
    locations=['mmmimic.models'])
# assigners, samplers, box coders, the mimic region sampler
TASK_UTILS = Registry('task util', parent=MMDET_TASK_UTILS, scope=SCOPE,
                      locations=['mmmimic.models'])

# optimisation
OPTIMIZERS = Registry('optimizer', parent=MMDET_OPTIMIZERS, scope=SCOPE)
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMDET_OPTIM_WRAPPERS,
                          scope=SCOPE, locations=['mmmimic.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMDET_OPTIM_WRAPPER_CONSTRUCTORS,
    scope=SCOPE)
PARAM_SCHEDULERS = Registry('parameter scheduler',
                            parent=MMDET_PARAM_SCHEDULERS, scope=SCOPE)

# evaluation
METRICS = Registry('metric', parent=MMDET_METRICS, scope=SCOPE,
                   locations=['mmmimic.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMDET_EVALUATOR, scope=SCOPE,
                     locations=['mmmimic.evaluation'])

# visualisation
VISUALIZERS = Registry('visualizer', parent=MMDET_VISUALIZERS, scope=SCOPE,
                       locations=['mmmimic.visualization'])
VISBACKENDS = Registry('vis_backend', parent=MMDET_VISBACKENDS, scope=SCOPE,
                       locations=['mmmimic.visualization'])
LOG_PROCESSORS = Registry('log_processor', parent=MMDET_LOG_PROCESSORS,
                          scope=SCOPE)


def build_in_mmmimic(registry: Registry, cfg: dict) -> Any:
    """Build ``cfg`` from one of mmmimic's registries whatever the current
    default scope (``_scope_`` set to mmmimic unless the config names
    another)."""
    cfg = copy.deepcopy(cfg)
    cfg.setdefault('_scope_', SCOPE)
    return registry.build(cfg)


def build_in_config_scope(cfg, registry: Registry = None, key: str = 'model',
                          default_scope: str = SCOPE) -> Any:
    """Build ``cfg[key]`` (a detector by default) from ``registry`` (mmmimic's
    ``MODELS``) in ``cfg``'s ``default_scope``, as MMEngine's runner does, so
    that its unscoped types resolve where its config means them, whatever the
    current default scope.

    Args:
        cfg (Config | dict): A whole config.
        registry (Registry, optional): Default: :data:`MODELS`.
        key (str): The part of ``cfg`` to build.
        default_scope (str): The scope of a config that sets none.
    """
    from mmengine.registry import DefaultScope
    registry = MODELS if registry is None else registry
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', None) or default_scope):
        return registry.build(cfg[key])
