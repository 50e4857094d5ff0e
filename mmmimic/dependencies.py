"""Check, before anything heavy is imported, that mmmimic's dependencies fit.

A wrong mmcv or mmdet otherwise surfaces as an ``AssertionError`` or an
undefined symbol deep inside mmdet; here it becomes one message that names every
problem and what to install.
"""
import importlib
import warnings
from importlib import metadata
from typing import Callable, List, Optional, Tuple

from packaging.version import InvalidVersion, Version

# (distribution, lowest allowed, first disallowed or None). The floors are
# what the code needs and what is tested: torch 2.1 (and its torchvision 0.16)
# is the newest torch with OpenMMLab's prebuilt mmcv 2.1.0 wheels; numpy 1.23
# is the oldest numpy those torch builds support.
REQUIRED: Tuple[Tuple[str, str, Optional[str]], ...] = (
    ('torch', '2.1.0', None),
    ('torchvision', '0.16.0', None),
    ('numpy', '1.23.0', None),
    ('mmengine', '0.10.0', '1.0.0'),
    ('mmcv', '2.0.0rc4', '2.2.0'),
    ('mmdet', '3.3.0', '3.4.0'),
    ('mmpretrain', '1.2.0', '1.3.0'),
)

# (distribution, from this version on, needs distribution, at least, why): pairs
# that each fit the floors above but cannot run together.
NEEDS: Tuple[Tuple[str, str, str, str, str], ...] = (
    ('numpy', '2.0.0', 'torch', '2.3.0',
     'torch before 2.3 is built against NumPy 1.x and cannot use NumPy 2 (it '
     'prints "compiled using NumPy 1.x", then every torch.from_numpy fails '
     'with "Numpy is not available", in the first batch of data); install '
     '`pip install "numpy>=1.23,<2"`, or a torch >= 2.3'),
)

# The newest release series the test suite has run on (README, "Supported
# stacks"): a newer one is let through with a warning that says what is tested.
NEWEST_TESTED: Tuple[Tuple[str, str, str], ...] = (
    ('torch', '2.14', 'torch==2.14.1 torchvision==0.29.1'),
)

FIX_HINT = (
    'Fix: on a CPU machine run `bash tools/install.sh` in the mmmimic repository '
    '(it creates .venv with every pin); on a GPU machine install your CUDA torch, '
    'then `mim install "mmcv>=2.0.0rc4,<2.2.0"` and '
    '`pip install "mmdet>=3.3.0,<3.4.0" "mmpretrain>=1.2.0,<1.3.0"` '
    '(docs/en/get_started.md, "Install on a GPU machine").')


class DependencyError(ImportError):
    """A dependency of mmmimic is missing, has the wrong version or fails to load."""


class UntestedDependencyWarning(UserWarning):
    """A dependency is newer than any release mmmimic has been tested with."""


def untested_versions(
        version_of: Callable[[str], str] = metadata.version) -> List[str]:
    """One line per distribution newer than the newest tested series."""
    lines = []
    for dist, series, pin in NEWEST_TESTED:
        try:
            found = version_of(dist)
            release = Version(found.split('+')[0]).release
        except (metadata.PackageNotFoundError, InvalidVersion):
            continue     # version_problems() reports these
        newest = Version(series).release
        if release[:len(newest)] > newest:
            lines.append(
                f'{dist} {found} is newer than the newest {dist} mmmimic is '
                f'tested with ({series}.x); if something fails, install '
                f'`pip install {pin}` (docs/en/get_started.md, "Supported '
                'stacks")')
    return lines


def _spec(low: str, high: Optional[str]) -> str:
    return f'>={low},<{high}' if high else f'>={low}'


def version_problems(
        version_of: Callable[[str], str] = metadata.version) -> List[str]:
    """One line per required distribution that is missing or out of range."""
    problems = []
    for dist, low, high in REQUIRED:
        spec = _spec(low, high)
        try:
            found = version_of(dist)
        except metadata.PackageNotFoundError:
            problems.append(f'{dist} is not installed; mmmimic needs {dist}{spec}')
            continue
        try:
            version = Version(found.split('+')[0])
        except InvalidVersion:
            problems.append(f'{dist} reports an unreadable version {found!r}')
            continue
        if version < Version(low) or (high and version >= Version(high)):
            problems.append(
                f'{dist} {found} is installed; mmmimic needs {dist}{spec}')
    return problems or pair_problems(version_of)


def pair_problems(
        version_of: Callable[[str], str] = metadata.version) -> List[str]:
    """One line per pair of installed versions that cannot run together."""
    problems = []
    for dist, since, other, least, why in NEEDS:
        try:
            found, other_found = version_of(dist), version_of(other)
            if (Version(found.split('+')[0]) >= Version(since) and
                    Version(other_found.split('+')[0]) < Version(least)):
                problems.append(f'{dist} {found} is installed with {other} '
                                f'{other_found}: {why}')
        except (metadata.PackageNotFoundError, InvalidVersion):
            continue     # named by the version check
    return problems


def mmcv_cuda_problem(cuda_available: bool, compiled_cuda: str) -> List[str]:
    """A GPU that mmcv's ops cannot use: every two-stage detector on it would
    stop at its first ``nms``/``roi_align`` with "not compiled with GPU
    support", after the model is built and the data loaded."""
    if not cuda_available or compiled_cuda != 'not available':
        return []
    return ['mmcv\'s compiled ops were built without CUDA, but this machine '
            'has a GPU that MMEngine will train and test on: install an mmcv '
            'built for CUDA (`mim install mmcv==2.1.0`, or build it with '
            'MMCV_WITH_OPS=1 FORCE_CUDA=1), or hide the GPU to run on the CPU '
            '(CUDA_VISIBLE_DEVICES=)']


def load_problems() -> List[str]:
    """Import-time failures of compiled parts (run only when versions fit)."""
    problems = []
    try:
        ops = importlib.import_module('mmcv.ops')
    except Exception as exc:  # ImportError, OSError from a bad .so, ...
        problems.append(
            'mmcv is installed without working compiled ops (mmcv-lite, or a build '
            f'for another torch): `import mmcv.ops` fails with: {exc}. '
            'Rebuild mmcv against the installed torch')
    else:
        import torch
        problems += mmcv_cuda_problem(torch.cuda.is_available(),
                                      ops.get_compiling_cuda_version())
    try:
        importlib.import_module('torchvision')
    except Exception as exc:
        problems.append(
            'torchvision does not load beside the installed torch '
            f'({exc}); install the matching pair, e.g. '
            '`pip install torch==2.14.1 torchvision==0.29.1`')
    return problems


def check_dependencies(
        version_of: Callable[[str], str] = metadata.version) -> None:
    """Raise :class:`DependencyError` listing every problem, or return."""
    problems = version_problems(version_of)
    if not problems:
        problems = load_problems()
    for line in untested_versions(version_of):
        warnings.warn(line, UntestedDependencyWarning, stacklevel=2)
    if problems:
        lines = '\n'.join(f'  - {p}' for p in problems)
        raise DependencyError(
            f'mmmimic cannot start:\n{lines}\n{FIX_HINT}')
