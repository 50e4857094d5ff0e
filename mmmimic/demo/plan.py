"""What a demo run does: for each row and seed not yet in ``results.json``
with its run key, a training (none when a finished checkpoint of the same
key is there) and a test, row by row in the table's order, so that an
interrupted run leaves whole rows; the teacher's test last."""
import argparse
import os.path as osp
import shutil
from typing import Dict, List, Tuple

from mmmimic.utils.atomic import atomic_write_bytes

from .data import data_options
from .jobs import Job, Step
from .results import DemoResults
from .runs import REPO, Row, row_config, row_iters, schedule_options


def train_step(args: argparse.Namespace, data_dir: str, work_dir: str,
               teacher: str, seed: int, row: Row,
               key: str) -> Tuple[str, List[Step]]:
    """The checkpoint of ``row`` trained with ``seed``, and its training
    (none when a finished checkpoint of a run with the same key is there)."""
    run_dir = osp.join(work_dir, f'seed{seed}', row.role)
    iters = row_iters(args, row)
    ckpt = osp.join(run_dir, f'iter_{iters}.pth')
    key_file = osp.join(run_dir, 'run_key.txt')
    made_by = open(key_file).read() if osp.isfile(key_file) else None
    if osp.isfile(ckpt) and made_by == key:
        print(f'  {row.title}, seed {seed}: reusing '
              f'{osp.relpath(ckpt, REPO)}')
        return ckpt, []
    if osp.isdir(run_dir):
        # made by another config (or interrupted): start that run afresh
        shutil.rmtree(run_dir)
    atomic_write_bytes(key_file, key.encode())
    options = data_options(data_dir) + schedule_options(
        row_config(row), iters) + [
        f'train_cfg.max_iters={iters}',
        # no validation at the end: tools/test.py follows
        f'train_cfg.val_begin={iters + 1}',
        f'randomness.seed={seed}',
    ]
    if row.mimic:
        options.append(f'model.teacher_ckpt={teacher}')
    options += list(row.options)
    return ckpt, [(f'train {row.role}, seed {seed}, {iters} iterations',
                   [osp.join('tools', 'train.py'), row.config,
                    '--work-dir', run_dir, '--cfg-options'] + options,
                   osp.join(work_dir, f'train_{row.role}_seed{seed}.log'))]


def test_step(data_dir: str, work_dir: str, row: Row, checkpoint: str,
              tag: str) -> Tuple[Step, str]:
    """``tools/test.py`` on the test split (a mimic config needs no teacher
    checkpoint to test) and where its predictions go."""
    out_dir = osp.join(work_dir, tag, row.role)
    out = osp.join(out_dir, 'predictions.pkl')
    cmd = [osp.join('tools', 'test.py'), row.config, checkpoint,
           '--work-dir', out_dir, '--out', out, '--cfg-options'
           ] + data_options(data_dir) + list(row.options)
    return (f'test {row.role}, {tag}', cmd,
            osp.join(work_dir, f'test_{row.role}_{tag}.log')), out


def demo_jobs(args: argparse.Namespace, rows: List[Row],
              keys: Dict[str, str], store: DemoResults, data_dir: str,
              work_dir: str, teacher: str,
              teacher_seed: int) -> Tuple[List[Job], Dict[str, str]]:
    """One job per row and seed not yet in ``results.json`` with the row's
    run key: train (unless done), then test; none under ``--report-only``.

    Args:
        args (argparse.Namespace): The demo's arguments (seeds, iterations,
            ``--report-only``).
        rows (list[Row]): The teacher's row first, then the students'.
        keys (dict[str, str]): Each row's run key, by role.
        store (DemoResults): What ``results.json`` holds.
        data_dir (str): The converted data.
        work_dir (str): Where this run's trainings and tests go.
        teacher (str): The teacher checkpoint (mimic rows train with it).
        teacher_seed (int): The seed the teacher was trained with.

    Returns:
        tuple[list[Job], dict[str, str]]: The jobs, in the table's order (the
        teacher's test last), and a checkpoint per role that has one here
        (what the deployed models are measured from).
    """
    jobs, checkpoints = [], {}
    for row in rows[1:]:
        for seed in args.seeds:
            run_dir = osp.join(work_dir, f'seed{seed}', row.role)
            ckpt = osp.join(run_dir, f'iter_{row_iters(args, row)}.pth')
            if store.mr(row.role, seed, keys[row.role]) is not None:
                print(f'  {row.title}, seed {seed}: in results.json (same '
                      'run key)', flush=True)
                if osp.isfile(ckpt):
                    checkpoints.setdefault(row.role, ckpt)
                continue
            if args.report_only:
                print(f'  {row.title}, seed {seed}: not in results.json, '
                      'left out (--report-only)', flush=True)
                continue
            ckpt, steps = train_step(args, data_dir, work_dir, teacher, seed,
                                     row, keys[row.role])
            checkpoints.setdefault(row.role, ckpt)
            test, out = test_step(data_dir, work_dir, row, ckpt,
                                  f'seed{seed}')
            jobs.append(Job(row, seed, steps + [test], out))
    checkpoints['teacher'] = teacher
    if store.mr('teacher', teacher_seed, keys['teacher']) is None and \
            not args.report_only:
        test, out = test_step(data_dir, work_dir, rows[0], teacher, 'teacher')
        jobs.append(Job(rows[0], teacher_seed, [test], out))
    return jobs, checkpoints
