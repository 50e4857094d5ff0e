import datetime
import warnings

from mmengine import DefaultScope
from mmengine.registry import Registry

from mmmimic.registry import SCOPE

from .cli import UsageError


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmmimic module so that its components are registered.

    Args:
        init_default_scope (bool): Also make ``mmmimic`` the global default
            scope, so that unprefixed names resolve in mmmimic's registries
            first. Defaults to True.
    """
    from mmmimic import registry

    # each node imports the packages of its `locations` (MMEngine's lazy
    # registration), so utils itself imports none of them
    for node in vars(registry).values():
        if isinstance(node, Registry) and node.scope == SCOPE:
            node.import_from_location()

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


def add_run_args(parser) -> None:
    """The arguments ``tools/train.py`` and ``tools/test.py`` share:
    ``--work-dir``, ``--cfg-options``, ``--launcher`` and the
    ``--local-rank`` that ``torch.distributed.launch`` passes."""
    from mmengine.config import DictAction

    from mmmimic.utils.cli import folder_path
    parser.add_argument(
        '--work-dir', type=folder_path, help='the dir to save logs, models and metrics')
    parser.add_argument(
        '--cfg-options', nargs='+', action=checked_dict_action(DictAction),
        help='override config keys, e.g. key=value or key="[a,b]" '
        '(no white space inside a value)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torch>=2.0) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def checked_dict_action(base):
    """MMEngine's ``DictAction`` that answers ``KEY`` without ``=`` with the
    usage line naming it, instead of a traceback."""
    import argparse

    class CheckedDictAction(base):

        def __call__(self, parser, namespace, values, option_string=None):
            for value in values:
                if '=' not in value or not value.split('=', 1)[0]:
                    parser.error(f'{option_string} {value!r}: each option is '
                                 'KEY=VALUE, e.g. train_cfg.max_iters=100')
            try:
                super().__call__(parser, namespace, values, option_string)
            except (ValueError, argparse.ArgumentError) as err:
                parser.error(f'{option_string}: {err}')

    return CheckedDictAction


def check_work_dir(work_dir: str) -> None:
    """The work dir can be made and written, or one line naming it; what
    this run adds to it is removed again if the run is refused
    (:func:`clean_work_dir_on_refusal`)."""
    import os
    import tempfile
    clean_work_dir_on_refusal(work_dir)
    try:
        os.makedirs(work_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=work_dir):
            pass
    except (PermissionError, NotADirectoryError, FileExistsError,
            OSError) as err:
        raise UsageError(f'work dir {work_dir}: cannot write there '
                         f'({err.strerror or err}); pass --work-dir with a '
                         'folder you can write') from None


#: what a run leaves in its work dir that shows it ran (then nothing of it
#: is removed on a refusal)
RAN_MARKERS = ('last_checkpoint', '.pth')


def clean_work_dir_on_refusal(work_dir: str) -> None:
    """On a refusal that ends the tool (:func:`~.cli.run_tool`), remove what
    this run added to ``work_dir`` (MMEngine's ``<timestamp>/`` log folder,
    its config copy; the work dir itself if this run made it), unless a
    checkpoint shows that it trained; what was there before is kept."""
    import os
    import os.path as osp
    import shutil

    from .cli import on_refusal
    existed = osp.isdir(work_dir)
    before = set(os.listdir(work_dir)) if existed else set()

    def clean() -> None:
        if not osp.isdir(work_dir):
            return
        added = [osp.join(work_dir, n) for n in
                 sorted(set(os.listdir(work_dir)) - before)]
        for path in added:
            names = [path] if not osp.isdir(path) else [
                osp.join(root, n) for root, _, files in os.walk(path)
                for n in files]
            if any(n.endswith(RAN_MARKERS) for n in names):
                return
        for path in added:
            if osp.isdir(path) and not osp.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)
        if not existed and not os.listdir(work_dir):
            os.rmdir(work_dir)
    on_refusal(clean)


def check_trains_something(cfg) -> None:
    """Refuse a training config that would train nothing: its loop's
    ``max_iters`` / ``max_epochs`` must be a whole number >= 1 (MMEngine
    exits 0 without a step or a checkpoint otherwise)."""
    train_cfg = cfg.get('train_cfg') or {}
    for key in ('max_iters', 'max_epochs'):
        if key not in train_cfg:
            continue
        value = train_cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(
                f'train_cfg.{key}={value!r}: a training needs at least one '
                f'{"iteration" if key == "max_iters" else "epoch"} (a whole '
                f'number >= 1, e.g. --cfg-options train_cfg.{key}=500)')


def run_config(args, training: bool = False):
    """The config a tool runs: ``args.config`` with ``--cfg-options`` merged,
    the launcher set (CPU DDP prepared, :func:`setup_cpu_distributed`),
    ``default_scope`` mmmimic unless set, and the work dir from the command
    line, else the config, else ``./work_dirs/<config name>`` (made, and
    checked to be writable, here). ``--cfg-options`` text where the config
    holds a number is refused naming the key; with ``training``, a config
    that would train nothing (:func:`check_trains_something`); values a run
    divides or counts by (``config_file.check_config_values``). Sets
    ``LOCAL_RANK`` from ``--local-rank`` when the launcher did not."""
    import os
    import os.path as osp

    from .config_file import read_config
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    # (refused before the work dir is made)
    cfg = read_config(args.config, cfg_options=args.cfg_options)
    cfg.launcher = args.launcher
    if training:
        check_trains_something(cfg)
    setup_cpu_distributed(cfg)
    cfg.setdefault('default_scope', SCOPE)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    # MMEngine's runner writes the merged config into the work dir under
    # the config's own name: never over the config or a file it loads
    from .atomic import DestinationError, check_destination
    inputs = [p for p in (args.config, getattr(args, 'checkpoint', None))
              if p]
    try:
        check_destination(osp.join(cfg.work_dir, osp.basename(args.config)),
                          inputs, overwrite=True, flag='--work-dir', cfg=cfg)
    except DestinationError as err:
        raise UsageError(f'--work-dir {cfg.work_dir}: the run writes its '
                         f'merged config there, and {err}') from None
    check_work_dir(cfg.work_dir)
    return cfg
