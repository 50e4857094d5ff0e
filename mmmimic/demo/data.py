"""The demo's data: the procedural raw dataset (``.seq`` + ``.vbb``, by
``tools/dataset_converters/make_demo_caltech.py``) converted by
``tools/dataset_converters/caltech.py`` (both redone when their manifest
differs from this run's), the options that point a config at it, its first
test image and the Reasonable miss rate of a prediction dump on it."""
import argparse
import json
import os.path as osp
import shutil
from typing import List

import mmcv
import torch

from mmmimic.evaluation import evaluate_predictions, load_predictions
from mmmimic.evaluation.functional import MissRateResult
from mmmimic.utils.atomic import atomic_write_bytes

from .jobs import run_tool_logged
from .runs import REPO

TEST_ANN = osp.join('annotations', 'test-6x.json')   # every 5th test frame
#: the demo's data variants: the generator's options (make_demo_caltech.py)
DATA_VARIANTS = {'dense': [], 'sparse': ['--variant', 'sparse']}
MANIFEST = 'demo_manifest.json'


def default_data_dir(args: argparse.Namespace) -> str:
    """``--data-dir``, else ``data/demo_caltech[-VARIANT][-quick]``
    (absolute)."""
    suffix = '-quick' if args.quick else ''
    variant = '' if args.data_variant == 'dense' else f'-{args.data_variant}'
    return osp.abspath(args.data_dir or osp.join(
        REPO, 'data', f'demo_caltech{variant}{suffix}'))


def prepare_data(args: argparse.Namespace, data_dir: str,
                 work_dir: str) -> None:
    """Render the raw videos and convert them; a converted folder is reused
    only if it was made from the very raw data of this run (same manifest).
    Under ``--report-only`` a converted folder is taken as it is."""
    if args.report_only and osp.isfile(osp.join(data_dir, MANIFEST)):
        print(f'[1/4] demo dataset: {data_dir} as it is (--report-only)',
              flush=True)
        return
    raw = data_dir + '_raw'
    frames = ['--videos', '1', '--test-videos', '1', '--train-frames', '15',
              '--test-frames', '60'] if args.quick else []
    frames += DATA_VARIANTS[args.data_variant]
    print(f'[1/4] demo dataset: {raw} -> {data_dir}', flush=True)
    run_tool_logged(
        [osp.join('tools', 'dataset_converters', 'make_demo_caltech.py'),
         raw] + frames, osp.join(work_dir, 'make_data.log'))
    with open(osp.join(raw, MANIFEST)) as f:
        wanted = json.load(f)
    manifest = osp.join(data_dir, MANIFEST)
    if osp.isfile(manifest):
        with open(manifest) as f:
            if json.load(f) == wanted:
                return
    if osp.isdir(data_dir):
        print(f'  {data_dir} was converted from other raw data: converting '
              'again', flush=True)
        shutil.rmtree(data_dir)
    run_tool_logged([osp.join('tools', 'dataset_converters', 'caltech.py'),
                     raw, data_dir, '--train-skip', '3', '--test-skip', '5'],
                    osp.join(work_dir, 'convert.log'))
    atomic_write_bytes(manifest, json.dumps(wanted, indent=2).encode())


def data_options(data_dir: str) -> List[str]:
    """``--cfg-options`` that point a demo config's dataloaders and
    evaluators at ``data_dir``."""
    root = osp.abspath(data_dir) + '/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}{TEST_ANN}',
        f'test_evaluator.ann_file={root}{TEST_ANN}',
    ]


def first_test_image(data_dir: str) -> torch.Tensor:
    """The first test image, (3, H, W) uint8 BGR as the pipeline loads it."""
    with open(osp.join(data_dir, TEST_ANN)) as f:
        name = json.load(f)['images'][0]['file_name']
    img = mmcv.imread(osp.join(data_dir, 'images', name))
    return torch.from_numpy(img).permute(2, 0, 1).contiguous()


def reasonable(data_dir: str, predictions: str) -> MissRateResult:
    """The Reasonable miss rate of a prediction dump (``tools/test.py
    --out``, read by the restricted unpickler) on the test annotations."""
    return evaluate_predictions(
        osp.join(data_dir, TEST_ANN),
        load_predictions(predictions))['Reasonable']
