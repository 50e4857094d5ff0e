"""The "What happens on bad input" table (docs/en/bad_input.md) cites tests:
each cited test exists (its file under tests/, its function in that file), so
the table cannot drift from what is tested."""
import glob
import os.path as osp
import re

from .conftest import REPO_ROOT

PAGE = osp.join('docs', 'en', 'bad_input.md')


def cited_tests():
    """(row number, file name, test name) of every citation in the table's
    last column: ``file.py::test_name``, or ``::test_name`` for the file
    cited just before it."""
    section = open(osp.join(REPO_ROOT, PAGE)).read()
    rows = [line for line in section.splitlines()
            if line.startswith('| ') and not line.startswith('| mistake')]
    cited = []
    for number, row in enumerate(rows, 1):
        last_file = None
        for item in re.findall(r'`([\w./]*::\w+)`', row.rsplit('|', 2)[-2]):
            name, test = item.split('::')
            last_file = name or last_file
            cited.append((number, last_file, test))
    return rows, cited


def test_every_row_cites_a_test():
    rows, cited = cited_tests()
    assert len(rows) > 40
    assert {number for number, _, _ in cited} == set(range(1, len(rows) + 1))


def test_every_cited_test_exists():
    _, cited = cited_tests()
    missing = []
    for number, name, test in cited:
        files = glob.glob(osp.join(REPO_ROOT, 'tests', '**', name),
                          recursive=True)
        if len(files) != 1 or not re.search(
                rf'^def {test}\(', open(files[0]).read(), re.MULTILINE):
            missing.append(f'row {number}: {name}::{test}')
    assert not missing, 'cited but not found: ' + '; '.join(missing)
