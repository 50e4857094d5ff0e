"""Each config folder's README table and metafile.yml list exactly its configs,
and model-index.yml imports every metafile."""
import glob
import os.path as osp
import re

import pytest
import yaml

from ..conftest import REPO_ROOT

FOLDERS = sorted(
    osp.basename(p) for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*'))
    if osp.isdir(p) and not p.endswith('_base_'))


def configs_in(folder: str) -> set:
    return {osp.basename(p) for p in
            glob.glob(osp.join(REPO_ROOT, 'configs', folder, '*.py'))}


def test_there_are_folders():
    assert {'teachers', 'students', 'mimic', 'demo'} <= set(FOLDERS)


@pytest.mark.parametrize('folder', FOLDERS)
def test_readme_table_lists_the_configs(folder):
    path = osp.join(REPO_ROOT, 'configs', folder, 'README.md')
    assert osp.isfile(path), f'configs/{folder} has no README.md'
    rows = [line for line in open(path) if line.startswith('| `')]
    listed = {re.match(r'\| `([^`]+\.py)`', row).group(1) for row in rows}
    assert listed == configs_in(folder), (
        f'README lists {sorted(listed - configs_in(folder))} that do not '
        f'exist and misses {sorted(configs_in(folder) - listed)}')


@pytest.mark.parametrize('folder', FOLDERS)
def test_metafile_lists_the_configs(folder):
    path = osp.join(REPO_ROOT, 'configs', folder, 'metafile.yml')
    with open(path) as f:
        meta = yaml.safe_load(f)
    collections = {c['Name'] for c in meta['Collections']}
    configs = set()
    for model in meta['Models']:
        assert model['In Collection'] in collections
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
        assert osp.isfile(osp.join(REPO_ROOT, model['Config'])), model['Config']
        configs.add(osp.basename(model['Config']))
    assert configs == configs_in(folder)


def test_model_index_imports_every_metafile():
    with open(osp.join(REPO_ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    assert set(index['Import']) == {
        f'configs/{folder}/metafile.yml' for folder in FOLDERS}
