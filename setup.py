"""Packaging for mmmimic.

Besides the usual metadata, this file makes ``mmmimic/.mim/`` (configs, tools and
``model-index.yml``) so that the ``mim`` CLI finds them: symbolic links for editable
installs, copies for wheels and source distributions.
"""
import os
import os.path as osp
import platform
import shutil
import sys

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
MIM_ITEMS = ('configs', 'tools', 'model-index.yml')

# setup.py commands that build an editable install. pip < 25.3 may still call
# ``develop``; PEP 660 builds (every pip >= 21.3 with setuptools >= 64, and the only
# way from pip 25.3 on) call ``editable_wheel``.
EDITABLE_COMMANDS = {'develop', 'editable_wheel'}
# commands whose output must carry real copies of the files
COPY_COMMANDS = {'sdist', 'bdist_wheel', 'build', 'build_py', 'install'}


def read_version() -> str:
    namespace: dict = {}
    with open(osp.join(ROOT, 'mmmimic', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'mmmimic/version.py', 'exec'), namespace)
    return namespace['__version__']


def parse_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` (comments dropped)."""
    path = osp.join(ROOT, 'requirements', f'{name}.txt')
    with open(path, encoding='utf-8') as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


def add_mim_extension() -> None:
    """Create ``mmmimic/.mim`` for the setup.py command being run.

    Editable installs get relative symbolic links (copies on Windows) so that
    edits to configs and tools are seen at once; wheels and sdists get copies.
    Other commands (``egg_info``, ``dist_info``, ...) leave ``.mim`` alone.
    """
    commands = set(sys.argv[1:])
    if commands & EDITABLE_COMMANDS:
        mode = 'copy' if platform.system() == 'Windows' else 'symlink'
    elif commands & COPY_COMMANDS:
        mode = 'copy'
    else:
        return

    mim_dir = osp.join(ROOT, 'mmmimic', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_ITEMS:
        src = osp.join(ROOT, name)
        dst = osp.join(mim_dir, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        long_description = f.read()
    setup(
        name='mmmimic',
        version=read_version(),
        description='Feature-mimic training of fast two-stage detectors '
        '(Li, Jin & Yan, CVPR 2017) for MMDetection',
        long_description=long_description,
        long_description_content_type='text/markdown',
        keywords='computer vision, object detection, knowledge distillation, '
        'feature mimic',
        packages=find_packages(exclude=('configs', 'tools', 'tests',
                                        'benchmarks')),
        include_package_data=True,
        python_requires='>=3.8',
        license='Apache License 2.0',
        classifiers=[
            'Programming Language :: Python :: 3',
            'Programming Language :: Python :: 3.11',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        install_requires=parse_requirements('runtime'),
        extras_require={
            'all': parse_requirements('runtime') +
            parse_requirements('mminstall') + parse_requirements('optional') +
            parse_requirements('tests') + parse_requirements('deploy'),
            'build': parse_requirements('build'),
            'deploy': parse_requirements('deploy'),
            'mim': parse_requirements('mminstall'),
            'optional': parse_requirements('optional'),
            'tests': parse_requirements('tests'),
        },
        zip_safe=False,
    )
