"""Evaluate a checkpoint with the config's test dataloader and metric.

Same arguments as MMDetection 3.3's tools/test.py; works from the repository and
through `mim test mmmimic CONFIG --checkpoint CKPT`.
"""
import argparse
import copy
import os.path as osp
import warnings

import mmmimic  # noqa: F401  (first: checks dependencies before mmdet loads)

# isort: split
from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmdet.evaluation import DumpDetResults
from mmdet.utils import setup_cache_size_limit_of_dynamo
from mmengine.config import Config, ConfigDict
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmmimic.utils.atomic import check_destination
from mmmimic.utils.cli import UsageError, folder_path, non_negative_float
from mmmimic.utils.model_checkpoint import use_checked_loading
from mmmimic.utils.setup_env import (
    add_run_args,
    register_all_modules,
    run_config,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint', metavar='CHECKPOINT',
        help='checkpoint file (path, URL or URI); refused unless its weights '
        'fit the model (see --allow-mismatch); or a .onnx file of '
        'tools/deployment/export_onnx.py, run by ONNX Runtime')
    parser.add_argument(
        '--out', type=str,
        help='dump predictions to a pickle file (.pkl) for offline evaluation')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir', type=folder_path,
        help='save images with predictions drawn into this folder, relative to '
        'the work dir\'s timestamped folder')
    parser.add_argument(
        '--wait-time', type=non_negative_float, default=2,
        help='the interval of show (s)')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation (horizontal flip unless '
                        'the config sets tta_model / tta_pipeline)')
    parser.add_argument(
        '--allow-mismatch', action='store_true',
        help='test a checkpoint whose keys or shapes do not all fit the model '
        '(MMEngine\'s non-strict loading: what is missing keeps its initial '
        'values); for debugging only, the metric is then not that of a '
        'trained model')
    add_run_args(parser)
    return parser.parse_args()


def add_flip_tta(cfg: Config) -> Config:
    """Wrap ``cfg.model`` in mmdet's TTA model with a flip pipeline (defaults)."""
    if 'tta_model' not in cfg:
        warnings.warn('No `tta_model` in the config: using mmdet.DetTTAModel '
                      'with NMS 0.5, 100 boxes per image.', stacklevel=2)
        cfg.tta_model = dict(
            type='mmdet.DetTTAModel',
            tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5),
                         max_per_img=100))
    if 'tta_pipeline' not in cfg:
        warnings.warn('No `tta_pipeline` in the config: using the test pipeline '
                      'with and without a horizontal flip.', stacklevel=2)
        dataset_cfg = cfg.test_dataloader.dataset
        while 'dataset' in dataset_cfg:
            dataset_cfg = dataset_cfg['dataset']
        cfg.tta_pipeline = copy.deepcopy(dataset_cfg.pipeline)
        cfg.tta_pipeline[-1] = dict(
            type='mmcv.TestTimeAug',
            transforms=[
                [dict(type='mmdet.RandomFlip', prob=1.),
                 dict(type='mmdet.RandomFlip', prob=0.)],
                [dict(type='mmdet.PackDetInputs',
                      meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                 'scale_factor', 'flip', 'flip_direction'))],
            ])
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    return cfg


def main() -> None:
    args = parse_args()
    setup_cache_size_limit_of_dynamo()
    register_all_modules(init_default_scope=False)

    cfg = run_config(args)
    onnx = args.checkpoint.lower().endswith('.onnx')
    if onnx:
        # an exported file (tools/deployment/export_onnx.py) run by ONNX
        # Runtime, with the same dataloader and evaluator
        if args.tta:
            raise UsageError('--tta with an .onnx model: export the model '
                             'the TTA wraps and test without --tta')
        from mmmimic.deployment.onnx_runtime_detector import (
            export_metadata,
            onnx_session,
        )
        try:   # a clear message before the dataset is built
            export_metadata(onnx_session(args.checkpoint, 1), args.checkpoint)
        except (ImportError, ValueError) as err:
            raise UsageError(str(err)) from None
        cfg.model = ConfigDict(type='mmmimic.OnnxRuntimeDetector',
                               onnx_file=args.checkpoint)
        cfg.pop('model_wrapper_cfg', None)
    else:
        cfg.load_from = args.checkpoint

    if args.show_dir:
        check_show_dir(args.show_dir, cfg)
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        cfg = add_flip_tta(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise UsageError(f'--out {args.out}: the dump file must end in '
                             '.pkl or .pickle')
        # (an existing dump is replaced, as MMDetection does)
        check_destination(args.out, [args.config, args.checkpoint],
                          overwrite=True, flag='--out', cfg=cfg)

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    # one reader for the checkpoint: no code runs from it, a damaged file says
    # what it is, and one of another model is refused before testing
    if not onnx:
        use_checked_loading(
            runner, key='CHECKPOINT', strict=not args.allow_mismatch,
            hint='Pass the checkpoint trained with CONFIG (or '
            '--allow-mismatch to test what fits anyway, e.g. while '
            'debugging).')
    if args.out is not None:
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))
    runner.test()


def check_show_dir(show_dir: str, cfg) -> None:
    """Refuse a ``--show-dir`` that is the folder the test images are read
    from: the drawn images take the images' own names."""
    dataset = cfg.test_dataloader.dataset
    prefix = dataset.get('data_prefix') or {}
    images = osp.join(dataset.get('data_root') or '',
                      prefix.get('img', '') if isinstance(prefix, dict)
                      else '')
    # (a relative --show-dir goes under WORK_DIR/<timestamp>)
    if osp.isabs(show_dir) and osp.isdir(images) and osp.isdir(show_dir) \
            and osp.samefile(show_dir, images):
        raise UsageError(f'--show-dir {show_dir}: the test images are read '
                         'from there and the drawn ones would replace them; '
                         'choose another folder (--show-dir does not allow '
                         'this)')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
