"""Wheels carry configs/tools for mim; the install script is idempotent."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

from .conftest import REPO_ROOT

pytestmark = pytest.mark.slow

SOURCES = ('setup.py', 'pyproject.toml', 'MANIFEST.in', 'README.md',
           'model-index.yml', 'requirements', 'mmmimic', 'configs', 'tools')


def test_wheel_contains_mim_copies(tmp_path):
    """Build from a copy (a wheel build rewrites mmmimic/.mim as copies)."""
    src = tmp_path / 'src'
    src.mkdir()
    ignore = shutil.ignore_patterns('.mim', '__pycache__', '*.egg-info')
    for name in SOURCES:
        path = osp.join(REPO_ROOT, name)
        if osp.isdir(path):
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy(path, src / name)
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '-q', '-w', str(tmp_path / 'dist'), str(src)],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel, = (tmp_path / 'dist').glob('mmmimic-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    assert 'mmmimic/.mim/tools/train.py' in names
    assert 'mmmimic/.mim/tools/test.py' in names
    assert 'mmmimic/.mim/tools/dist_train.sh' in names
    assert 'mmmimic/.mim/model-index.yml' in names
    assert 'mmmimic/.mim/tools/misc/print_config.py' in names
    assert 'mmmimic/registry.py' in names
    assert not any(n.startswith(('tests/', 'configs/', 'tools/')) for n in names)


def test_install_script_second_run_is_quick():
    venv = sys.prefix
    if not osp.isfile(osp.join(venv, '.mmmimic-install-stamp')):
        pytest.skip('this environment was not made by tools/install.sh')
    start = time.monotonic()
    proc = subprocess.run(
        ['bash', osp.join(REPO_ROOT, 'tools', 'install.sh')],
        env=dict(os.environ, MMMIMIC_VENV=venv), capture_output=True, text=True)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'is up to date' in proc.stdout
    assert elapsed < 60


def test_no_tracked_link_leaves_the_repository_and_the_license_is_there():
    """A committed symbolic link to an absolute or outside path works on one
    machine only; the licence that setup.py declares ships as LICENSE."""
    listed = subprocess.run(['git', 'ls-files', '-s'], cwd=REPO_ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip('not a git checkout')
    root = osp.realpath(REPO_ROOT)
    leaving = []
    for line in listed.stdout.splitlines():
        mode, _, _, path = line.split(maxsplit=3)
        if mode != '120000':
            continue
        target = os.readlink(osp.join(REPO_ROOT, path))
        resolved = osp.realpath(osp.join(REPO_ROOT, osp.dirname(path),
                                         target))
        if osp.isabs(target) or not resolved.startswith(root + os.sep):
            leaving.append(f'{path} -> {target}')
    assert not leaving, leaving
    with open(osp.join(REPO_ROOT, 'LICENSE')) as f:
        assert 'Apache License' in f.read(2000)
    with open(osp.join(REPO_ROOT, 'setup.py')) as f:
        assert "license='Apache License 2.0'" in f.read()
