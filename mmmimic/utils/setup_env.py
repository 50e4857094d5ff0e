import datetime
import warnings

from mmengine import DefaultScope

from mmmimic.registry import SCOPE


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmmimic module so that its components are registered.

    Args:
        init_default_scope (bool): Also make ``mmmimic`` the global default
            scope, so that unprefixed names resolve in mmmimic's registries
            first. Defaults to True.
    """
    import mmmimic.datasets  # noqa: F401
    import mmmimic.engine  # noqa: F401
    import mmmimic.evaluation  # noqa: F401
    import mmmimic.models  # noqa: F401
    import mmmimic.visualization  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created(SCOPE):
        DefaultScope.get_instance(SCOPE, scope_name=SCOPE)
        return
    if current.scope_name != SCOPE:
        warnings.warn(
            f'The current default scope "{current.scope_name}" is not '
            f'"{SCOPE}"; register_all_modules switches it to "{SCOPE}". Pass '
            'init_default_scope=False to keep it.', stacklevel=2)
        DefaultScope.get_instance(f'{SCOPE}-{datetime.datetime.now()}',
                                  scope_name=SCOPE)


def setup_cpu_distributed(cfg) -> None:
    """Make ``--launcher pytorch`` work on a machine without CUDA.

    MMEngine 0.10 assumes a GPU per process there: its launcher calls
    ``torch.cuda.set_device`` and wraps the model with
    ``device_ids=[LOCAL_RANK]``. Without CUDA this switches
    ``env_cfg.dist_cfg.backend`` from nccl to gloo (with a warning), starts the
    process group itself (MMEngine then skips its own start) and wraps the model
    with ``device_ids=None``, which is what DDP needs for a CPU model. Nothing
    changes where CUDA is available.
    """
    if cfg.get('launcher', 'none') == 'none':
        return
    import torch
    if torch.cuda.is_available():
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        warnings.warn('no CUDA device: env_cfg.dist_cfg.backend nccl -> gloo',
                      stacklevel=2)
        dist_cfg['backend'] = 'gloo'
    if cfg.launcher == 'pytorch' and not torch.distributed.is_initialized():
        options = {k: v for k, v in dist_cfg.items() if k != 'backend'}
        torch.distributed.init_process_group(backend=dist_cfg['backend'],
                                             **options)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper
