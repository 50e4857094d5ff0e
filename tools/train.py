"""Train a detector, or a student by feature mimic, from a config.

Same arguments as MMDetection 3.3's tools/train.py; works from the repository and
through `mim train mmmimic CONFIG`.
"""
import argparse
import os.path as osp

import mmmimic  # noqa: F401  (first: checks dependencies before mmdet loads)

# isort: split
from mmdet.utils import setup_cache_size_limit_of_dynamo
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmmimic.utils.cli import UsageError
from mmmimic.utils.model_checkpoint import use_checked_loading
from mmmimic.utils.setup_env import (
    add_run_args,
    register_all_modules,
    run_config,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--amp', action='store_true', default=False,
        help='enable automatic mixed precision training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the learning rate by the actual batch size '
        '(needs auto_scale_lr.base_batch_size in the config)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint; without a path, from the latest '
        'checkpoint in the work dir')
    add_run_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    setup_cache_size_limit_of_dynamo()
    register_all_modules(init_default_scope=False)

    cfg = run_config(args, training=True)

    if args.amp:
        # fp16 + dynamic loss scaling on a GPU, bf16 on CPU (where MMEngine's
        # AmpOptimWrapper refuses to run); optim_wrapper.dtype overrides
        cfg.optim_wrapper.type = 'mmmimic.DeviceAmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.auto_scale_lr:
        auto_scale_lr = cfg.get('auto_scale_lr', None)
        if not auto_scale_lr or 'base_batch_size' not in auto_scale_lr:
            raise UsageError(
                '--auto-scale-lr needs `auto_scale_lr = dict(enable=False, '
                'base_batch_size=N)` in the config, with N the total batch size '
                'the learning rate was tuned for.')
        cfg.auto_scale_lr.enable = True

    # an explicit checkpoint wins over the latest one in the work dir
    if args.resume == 'auto':
        # MMEngine would start from scratch, logging "resumed from None"
        if not osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint')):
            raise UsageError(
                f'--resume: no checkpoint to resume in {cfg.work_dir} (it has '
                'no last_checkpoint file); give the checkpoint (--resume '
                'PATH), the run\'s --work-dir, or start without --resume')
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if '://' not in args.resume and not osp.isfile(args.resume):
            raise UsageError(f'--resume {args.resume}: no such file')
        cfg.resume = True
        cfg.load_from = args.resume

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    # every checkpoint that comes in (--resume, load_from) through the one
    # safe loader: no code runs from it, a damaged or foreign file is named
    use_checked_loading(
        runner, key='load_from', resume_key='--resume',
        hint='Resume or load a checkpoint of this config\'s model.')
    runner.train()


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
