"""The README and the docs cannot drift from the repository: every relative link
resolves (with its anchor), every config path and `mmdet::` config named
exists, every `make` target exists, and every command line flag given to one of
our tools is in that tool's `--help`. Also the README's shape."""
import functools
import glob
import os.path as osp
import re
import subprocess
import sys

import pytest
import yaml

from .conftest import REPO_ROOT

README = osp.join(REPO_ROOT, 'README.md')


def doc_files():
    """Every Markdown page a user reads: the README, docs/, the READMEs of
    configs/ and benchmarks/."""
    files = [README]
    files += sorted(glob.glob(osp.join(REPO_ROOT, 'docs', '**', '*.md'),
                              recursive=True))
    files += sorted(glob.glob(osp.join(REPO_ROOT, 'configs', '**',
                                       'README.md'), recursive=True))
    files.append(osp.join(REPO_ROOT, 'benchmarks', 'README.md'))
    return files


def rel(path):
    return osp.relpath(path, REPO_ROOT)


def slug(heading: str) -> str:
    """The anchor of a Markdown heading as GitHub and MkDocs make it."""
    text = re.sub(r'[`*_]', '', heading.strip().lower())
    text = re.sub(r'[^\w\- ]', '', text)
    return re.sub(r'\s+', '-', text.strip())


def anchors(path):
    return {slug(m) for m in re.findall(r'^#+ (.+)$', open(path).read(),
                                        re.MULTILINE)}


def test_the_readme_is_a_short_front_door():
    lines = open(README).read().splitlines()
    assert len(lines) <= 200
    mimic = [i for i, line in enumerate(lines, 1)
             if line.startswith('## Mimic your own detector')]
    assert mimic and mimic[0] <= 100
    assert '`make demo`' in '\n'.join(lines[:30])
    assert '`make test`' in '\n'.join(lines[:30])


@pytest.mark.parametrize('path', doc_files(), ids=rel)
def test_every_relative_link_resolves(path):
    text = open(path).read()
    broken = []
    for target in re.findall(r'\]\(([^)\s]+)\)', text):
        if re.match(r'[a-z]+://', target) or target.startswith('mailto:'):
            continue
        file, _, anchor = target.partition('#')
        dest = osp.normpath(osp.join(osp.dirname(path), file)) if file \
            else path
        if not osp.exists(dest):
            broken.append(f'{target} (no {rel(dest)})')
        elif anchor and dest.endswith('.md') and anchor not in anchors(dest):
            broken.append(f'{target} (no heading #{anchor} in {rel(dest)})')
    assert not broken, f'{rel(path)}: ' + '; '.join(broken)


@pytest.mark.parametrize('path', doc_files(), ids=rel)
def test_every_config_named_exists(path):
    text = open(path).read()
    missing = [c for c in set(re.findall(r'\bconfigs/[\w./-]+\.py', text))
               if not osp.isfile(osp.join(REPO_ROOT, c))]
    import mmdet
    mmdet_configs = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')
    missing += [c for c in set(re.findall(r'mmdet::([\w./-]+\.py)', text))
                if not osp.isfile(osp.join(mmdet_configs, c))]
    assert not missing, f'{rel(path)} names {sorted(missing)}'


@pytest.mark.parametrize('path', doc_files(), ids=rel)
def test_every_make_target_named_exists(path):
    makefile = open(osp.join(REPO_ROOT, 'Makefile')).read()
    targets = set(re.findall(r'^([\w-]+):', makefile, re.MULTILINE))
    named = set(re.findall(r'`make ([\w-]+)', open(path).read()))
    named |= set(re.findall(r'^make ([\w-]+)', open(path).read(),
                            re.MULTILINE))
    assert named <= targets, f'{rel(path)}: no target {named - targets}'


def commands():
    """(page, tool, flags) of every `python tools/...py` or `python
    benchmarks/...py` command in the pages (code blocks with their
    continuation lines, and inline code)."""
    found = []
    for path in doc_files():
        text = open(path).read().replace('\\\n', ' ')
        for line in re.findall(r'python (?:tools|benchmarks)/[^\n`|]+', text):
            tool = line.split()[1]
            line = line.split('#', 1)[0]
            flags = re.findall(r'(?<![\w-])(--[a-z][\w-]*)', line)
            found.append((rel(path), tool, tuple(flags)))
    return found


@functools.lru_cache(maxsize=None)
def tool_help(tool: str) -> str:
    """``tool --help``, run in this process (argparse prints the help and
    exits before a tool does anything): the imports are paid once, not once
    per tool."""
    import contextlib
    import io
    import runpy
    out, argv, path = io.StringIO(), sys.argv, list(sys.path)
    sys.argv = [tool, '--help']
    try:
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as end:
            runpy.run_path(osp.join(REPO_ROOT, tool), run_name='__main__')
    finally:
        sys.argv, sys.path[:] = argv, path
    assert end.value.code in (0, None), f'{tool} --help failed: {end.value}'
    return out.getvalue()


def test_commands_are_found():
    tools = {tool for _, tool, _ in commands()}
    assert {'tools/train.py', 'tools/test.py', 'tools/run_demo.py',
            'tools/misc/make_mimic_config.py'} <= tools


@pytest.mark.parametrize('tool', sorted({t for _, t, _ in commands()}))
def test_every_flag_named_is_in_the_tools_help(tool):
    assert osp.isfile(osp.join(REPO_ROOT, tool)), f'no {tool}'
    help_text = tool_help(tool)
    unknown = sorted({f'{page}: {flag}' for page, t, flags in commands()
                      if t == tool for flag in flags
                      if not re.search(rf'(?<![\w-]){flag}(?![\w-])',
                                       help_text)})
    assert not unknown, f'{tool} has no ' + '; '.join(unknown)


def test_every_shell_tool_named_exists():
    missing = set()
    for path in doc_files():
        for tool in re.findall(r'bash ((?:tools|\.ci)/[\w./-]+)',
                               open(path).read()):
            if not osp.isfile(osp.join(REPO_ROOT, tool)):
                missing.add(f'{rel(path)}: {tool}')
    assert not missing


def test_the_site_lists_every_page_once():
    with open(osp.join(REPO_ROOT, 'mkdocs.yml')) as f:
        site = yaml.safe_load(f)

    def pages(node):
        if isinstance(node, str):
            return [node]
        if isinstance(node, dict):
            return [p for v in node.values() for p in pages(v)]
        return [p for v in node for p in pages(v)]

    listed = pages(site['nav'])
    docs = osp.join(REPO_ROOT, site['docs_dir'])
    present = [osp.relpath(p, docs) for p in
               glob.glob(osp.join(docs, '**', '*.md'), recursive=True)]
    assert sorted(listed) == sorted(present)
    assert site['strict'] is True


def tracked_text_files():
    """The repository's tracked text files (code, configs, pages, scripts)."""
    listed = subprocess.run(['git', 'ls-files'], cwd=REPO_ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip('not a git checkout')
    keep = ('.py', '.md', '.sh', '.yml', '.txt', '.toml', '.cfg', '.in')
    return [p for p in listed.stdout.splitlines()
            if p.endswith(keep) or osp.basename(p) in ('Makefile', 'run')]


#: a pointer to a section of a page: a page name, an optional comma, and the
#: heading in double quotes (as this repository's comments and messages write)
SECTION_POINTER = re.compile(
    r'([\w./-]+\.md)\)?,? ["\u201c]([^"\u201d\n]{3,60})["\u201d]')


def test_every_section_named_in_the_repository_exists():
    """A comment, message or page that sends a reader to a section of a page
    names a heading that page has."""
    missing = []
    for path in tracked_text_files():
        with open(osp.join(REPO_ROOT, path), errors='replace') as f:
            text = f.read()
        for page, section in SECTION_POINTER.findall(text):
            target = osp.normpath(osp.join(REPO_ROOT, page)) \
                if '/' in page or page == 'README.md' else \
                osp.join(osp.dirname(osp.join(REPO_ROOT, path)), page)
            if not osp.isfile(target):
                continue   # (not a page of this repository; links are
                # checked by test_every_relative_link_resolves)
            if slug(section) not in anchors(target):
                missing.append(f'{path}: {page} "{section}"')
    assert not missing, missing
