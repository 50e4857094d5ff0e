"""Shared fixtures: a small generated COCO-style dataset and repository paths."""
import json
import os
import os.path as osp
import sys
from typing import NamedTuple

import numpy as np
import pytest

import mmmimic  # noqa: F401  (dependency check; torch.load of MMEngine checkpoints)

if os.environ.get('PYTEST_XDIST_WORKER'):
    # pytest -n N (the Makefile's targets): the cores shared among the
    # workers, for their own work and for the tools their tests start, so
    # that N workers do not each start a thread per core
    _threads = str(max(1, (os.cpu_count() or 1) // int(
        os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))))
    for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[_var] = _threads
    import torch
    torch.set_num_threads(int(_threads))

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_FIXTURES = osp.join(REPO_ROOT, '..', 'shared', 'fixtures')
TINY_CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'tiny_faster-rcnn_coco.py')


def _managed_classes():
    """MMEngine's classes of global named instances (``ManagerMixin``: the
    default scope, loggers, message hubs, visualizers), each with its own
    ``_instance_dict``."""
    from mmengine.utils import ManagerMixin
    found, todo = [], [ManagerMixin]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if '_instance_dict' in vars(sub):
                found.append(sub)
    return found


def snapshot_instances() -> dict:
    return {cls: dict(cls._instance_dict) for cls in _managed_classes()}


def restore_instances(before: dict) -> None:
    for cls in _managed_classes():
        cls._instance_dict.clear()
        cls._instance_dict.update(before.get(cls, {}))


@pytest.fixture(autouse=True)
def _global_instances_restored():
    """Each test leaves MMEngine's global instances as it found them.

    A Runner or ``register_all_modules`` inside a test makes a new
    ``DefaultScope`` current for the rest of the process, and a Runner's
    visualizer and logger, found again by name, would write into that
    test's (removed) work dir; under pytest-xdist the next test in that
    worker is anyone's, and scoped type names such as
    ``mmdet.LoadImageFromFile`` resolve differently in ``mmdet``'s scope.
    """
    before = snapshot_instances()
    yield
    restore_instances(before)


def tool_module(*parts: str):
    """A script under tools/ imported as a module (its functions, its main),
    e.g. ``tool_module('misc', 'make_mimic_config.py')``."""
    import importlib.util
    path = osp.join(REPO_ROOT, 'tools', *parts)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(parts[-1])[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ToolRun(NamedTuple):
    """What :func:`run_tool_in_process` saw: as ``subprocess.run`` gives."""
    returncode: int
    stdout: str
    stderr: str


def run_tool_in_process(argv, cwd: str = REPO_ROOT) -> ToolRun:
    """``python ARGV`` (a tool under tools/ or benchmarks/) run in this
    process: its ``__main__`` through ``run_tool``, with sys.argv, sys.path,
    the working folder and the environment restored after it. Its exit status
    and what it printed, as a subprocess would give them (an exception that
    escapes is printed with its traceback, status 1), without paying the
    imports again: for tests of refusals, which end before any real work.
    MMEngine's global instances the run made (loggers, visualizers, message
    hubs, default scopes) are dropped after it, as its process would be."""
    import contextlib
    import io
    import runpy
    import traceback

    instances = snapshot_instances()
    out, err = io.StringIO(), io.StringIO()
    saved = (sys.argv, list(sys.path), os.getcwd(), dict(os.environ))
    sys.argv = [str(a) for a in argv]
    code = 0
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(sys.argv[0], run_name='__main__')
            except SystemExit as end:
                code = end.code if isinstance(end.code, int) else (
                    0 if end.code is None else 1)
                if not isinstance(end.code, (int, type(None))):
                    print(end.code, file=sys.stderr)
            except Exception:   # noqa: BLE001 (as Python itself prints it)
                traceback.print_exc()
                code = 1
    finally:
        sys.argv, sys.path[:] = saved[0], saved[1]
        os.chdir(saved[2])
        os.environ.clear()
        os.environ.update(saved[3])
        # the run's loggers, visualizers and message hubs go with it
        restore_instances(instances)
    return ToolRun(code, out.getvalue(), err.getvalue())


def write_tiny_coco(root: str, num_train: int = 4, num_val: int = 2,
                    size=(128, 96), seed: int = 0) -> str:
    """Write images with bright upright rectangles ("pedestrians") on noise.

    Layout: ``root/images/*.jpg`` and ``root/annotations/{train,val}.json``
    (COCO format, one category ``person``). Returns ``root``.
    """
    import cv2

    rng = np.random.default_rng(seed)
    width, height = size
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    for split, count in (('train', num_train), ('val', num_val)):
        images, annotations = [], []
        for i in range(count):
            name = f'{split}_{i:04d}.jpg'
            img = rng.integers(0, 80, (height, width, 3), dtype=np.uint8)
            for _ in range(int(rng.integers(1, 4))):
                h = int(rng.integers(24, height - 8))
                w = max(8, h // 2)
                x = int(rng.integers(0, width - w))
                y = int(rng.integers(0, height - h))
                img[y:y + h, x:x + w] = rng.integers(150, 255, 3)
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=i, category_id=1,
                    bbox=[x, y, w, h], area=w * h, iscrowd=0))
            cv2.imwrite(osp.join(root, 'images', name), img)
            images.append(dict(id=i, file_name=name, width=width, height=height))
        coco = dict(images=images, annotations=annotations,
                    categories=[dict(id=1, name='person')])
        with open(osp.join(root, 'annotations', f'{split}.json'), 'w') as f:
            json.dump(coco, f)
    return root


def tiny_data_options(root: str) -> list:
    """``--cfg-options`` that point the tiny config at a generated dataset."""
    root = root.rstrip('/') + '/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/val.json',
        f'test_evaluator.ann_file={root}annotations/val.json',
    ]


@pytest.fixture(scope='session')
def tiny_coco(tmp_path_factory) -> str:
    return write_tiny_coco(str(tmp_path_factory.mktemp('tiny_coco')))


@pytest.fixture(scope='session')
def tiny_teacher_ckpt(tmp_path_factory) -> tuple:
    """The tiny teacher (base width 16) saved as a runner saves it, once for
    the run: its path and its state dict (read only)."""
    from .test_models._tiny import save_tiny_teacher
    return save_tiny_teacher(tmp_path_factory.mktemp('teacher'))


@pytest.fixture(scope='session')
def python_exe() -> str:
    return sys.executable


def env_with_pythonpath(*paths: str) -> dict:
    """os.environ with ``paths`` put in front of PYTHONPATH, keeping what is
    there (where the packages live when they are installed with ``--target``,
    as on the GPU machine)."""
    kept = os.environ.get('PYTHONPATH')
    return dict(os.environ,
                PYTHONPATH=os.pathsep.join(list(paths) + ([kept] if kept else [])))
