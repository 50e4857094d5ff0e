"""The import-time dependency check: one clear message, no deep stack traces."""
import subprocess
import sys
from importlib import metadata

import pytest

from mmmimic.dependencies import (
    DependencyError,
    UntestedDependencyWarning,
    check_dependencies,
    load_problems,
    mmcv_cuda_problem,
    untested_versions,
    version_problems,
)

from .conftest import env_with_pythonpath

GOOD = {'torch': '2.14.1+cu130', 'torchvision': '0.29.1+cu130',
        'numpy': '1.26.4', 'mmengine': '0.10.7', 'mmcv': '2.1.0',
        'mmdet': '3.3.0', 'mmpretrain': '1.2.0'}
# the oldest stack mmmimic supports (OpenMMLab's prebuilt mmcv 2.1.0)
OLDEST = dict(GOOD, torch='2.1.0+cu121', torchvision='0.16.0', numpy='1.23.0')


def fake_versions(**changes):
    versions = dict(GOOD, **changes)

    def version_of(dist):
        if versions.get(dist) is None:
            raise metadata.PackageNotFoundError(dist)
        return versions[dist]

    return version_of


def test_installed_versions_pass():
    assert version_problems() == []
    check_dependencies()


def test_good_versions_have_no_problems():
    assert version_problems(fake_versions()) == []
    assert version_problems(fake_versions(**OLDEST)) == []
    assert version_problems(fake_versions(numpy='2.1.3')) == []


@pytest.mark.parametrize('dist,version,expected', [
    ('mmcv', '2.2.0', 'mmcv 2.2.0 is installed; mmmimic needs mmcv>=2.0.0rc4,<2.2.0'),
    ('mmcv', '1.7.2', 'mmcv 1.7.2 is installed; mmmimic needs mmcv>=2.0.0rc4,<2.2.0'),
    ('mmdet', '2.28.2', 'mmdet 2.28.2 is installed; mmmimic needs mmdet>=3.3.0,<3.4.0'),
    ('mmengine', None,
     'mmengine is not installed; mmmimic needs mmengine>=0.10.0,<1.0.0'),
    ('mmpretrain', None, 'mmpretrain is not installed'),
    ('torch', '2.0.1', 'torch 2.0.1 is installed; mmmimic needs torch>=2.1.0'),
    ('torch', '1.13.1+cu117',
     'torch 1.13.1+cu117 is installed; mmmimic needs torch>=2.1.0'),
    ('torchvision', '0.15.2',
     'torchvision 0.15.2 is installed; mmmimic needs torchvision>=0.16.0'),
    ('torchvision', None,
     'torchvision is not installed; mmmimic needs torchvision>=0.16.0'),
    ('numpy', '1.22.4', 'numpy 1.22.4 is installed; mmmimic needs numpy>=1.23.0'),
])
def test_each_problem_is_named(dist, version, expected):
    problems = version_problems(fake_versions(**{dist: version}))
    assert len(problems) == 1
    assert expected in problems[0]


def test_numpy_2_with_a_torch_built_for_numpy_1_is_named():
    """torch < 2.3 with numpy 2 passes every floor but cannot convert an
    array: refused at import, with the pin to install."""
    problems = version_problems(fake_versions(**dict(OLDEST, numpy='2.0.2')))
    assert len(problems) == 1
    assert problems[0].startswith(
        'numpy 2.0.2 is installed with torch 2.1.0+cu121: torch before 2.3')
    assert 'pip install "numpy>=1.23,<2"' in problems[0]
    for torch_version in ('2.3.0', '2.11.0+cu130'):
        assert version_problems(fake_versions(
            numpy='2.5.2', torch=torch_version)) == []
    assert version_problems(fake_versions(**dict(OLDEST, numpy='1.26.4'))) == []


def test_newer_torch_than_tested_is_named_in_a_warning():
    """A torch newer than the newest tested series passes with one warning
    that names the tested series and the pin to install if something fails."""
    assert untested_versions(fake_versions()) == []
    assert untested_versions(fake_versions(**OLDEST)) == []
    assert untested_versions(fake_versions(torch='2.14.9')) == []
    lines = untested_versions(fake_versions(torch='2.15.0+cu131'))
    assert len(lines) == 1
    assert 'torch 2.15.0+cu131 is newer than the newest torch mmmimic is ' \
        'tested with (2.14.x)' in lines[0]
    assert 'pip install torch==2.14.1 torchvision==0.29.1' in lines[0]
    assert untested_versions(fake_versions(torch='3.0.0'))
    with pytest.warns(UntestedDependencyWarning, match='torch 2.15.0'):
        check_dependencies(fake_versions(torch='2.15.0'))


def test_all_problems_in_one_message_with_the_fix():
    with pytest.raises(DependencyError) as info:
        check_dependencies(fake_versions(mmcv='2.2.0', mmdet=None))
    message = str(info.value)
    assert 'mmcv 2.2.0 is installed' in message
    assert 'mmdet is not installed' in message
    assert 'bash tools/install.sh' in message
    assert 'mim install "mmcv>=2.0.0rc4,<2.2.0"' in message


def test_wrong_mmcv_fails_at_import_with_one_message(tmp_path):
    """A shadowing mmcv 2.2.0 distribution: `import mmmimic` names it, and the
    traceback does not come from inside mmdet."""
    dist_info = tmp_path / 'mmcv-2.2.0.dist-info'
    dist_info.mkdir()
    (dist_info / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: mmcv\nVersion: 2.2.0\n')
    env = env_with_pythonpath(str(tmp_path))
    proc = subprocess.run([sys.executable, '-c', 'import mmmimic'], env=env,
                          capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode != 0
    assert ('mmmimic.dependencies.DependencyError: mmmimic cannot start'
            in proc.stderr)
    assert 'mmcv 2.2.0 is installed' in proc.stderr
    frames = [line for line in proc.stderr.splitlines()
              if line.strip().startswith('File "')]
    assert frames and not any('mmdet' in f or 'mmcv' in f for f in frames)


def test_import_has_no_torchvision_warnings(tmp_path):
    """mmpretrain imports torchvision; nothing about it may be printed."""
    code = ('import warnings; warnings.simplefilter("always"); '
            'import mmmimic, mmmimic.models; '
            'from mmmimic.utils import register_all_modules; '
            'register_all_modules(); import mmpretrain.models')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert 'torchvision' not in proc.stderr.lower(), proc.stderr


@pytest.mark.device
def test_mmcv_without_cuda_ops_on_a_gpu_machine_is_named(monkeypatch):
    """This machine's mmcv is built without CUDA (get_compiling_cuda_version
    says 'not available'): on a machine where torch sees a GPU, import stops
    with what to install, instead of the first nms failing mid-run."""
    import mmcv.ops
    import torch
    assert mmcv_cuda_problem(False, 'not available') == []
    assert mmcv_cuda_problem(True, '12.1') == []
    if mmcv.ops.get_compiling_cuda_version() != 'not available':
        pytest.skip('this mmcv has CUDA ops')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    problems = load_problems()
    assert len(problems) == 1
    assert "mmcv's compiled ops were built without CUDA" in problems[0]
    assert 'mim install mmcv==2.1.0' in problems[0]
    assert 'CUDA_VISIBLE_DEVICES=' in problems[0]
