# Entry points for a fresh clone. Each target sets up .venv first (tools/install.sh,
# a few seconds when already done).
VENV ?= .venv
PY := $(VENV)/bin/python
# The second supported stack (docs/en/get_started.md, "Supported stacks"): what
# `mim` gives GPU users, here from PyPI with mmcv 2.1.0 built from source against it (C++17).
COMPAT_VENV ?= .venv-compat
COMPAT_TORCH ?= torch==2.1.2 torchvision==0.16.2
# The documentation site needs MkDocs only: its own small environment.
DOCS_VENV ?= .venv-docs

.PHONY: install install-compat demo demo-quick test test-fast test-compat lint docs
install:
	MMMIMIC_VENV=$(abspath $(VENV)) bash tools/install.sh

install-compat:
	MMMIMIC_VENV=$(abspath $(COMPAT_VENV)) MMMIMIC_TORCH="$(COMPAT_TORCH)" \
		bash tools/install.sh

demo: install
	$(PY) tools/run_demo.py

demo-quick: install
	$(PY) tools/run_demo.py --quick

# The suite in parallel, one worker per core (pytest-xdist): tests are dealt out
# one by one, except a module marked xdist_group (one whose module fixture is
# costly), which stays on one worker so that its fixture is made once.
PYTEST_PARALLEL ?= -n auto --dist loadgroup

test: install
	$(PY) -m pytest tests $(PYTEST_PARALLEL)

# On the second stack: every test but the slow end-to-end ones, plus those of the
# slow ones whose code paths differ between torch releases (checkpoint loading,
# resume, export).
COMPAT_SLOW_TESTS = tests/test_tools/test_train_test.py \
	tests/test_models/test_distillers/test_student_export.py
test-compat: install-compat
	$(COMPAT_VENV)/bin/python -m pytest tests -m "not slow" $(PYTEST_PARALLEL)
	$(COMPAT_VENV)/bin/python -m pytest $(COMPAT_SLOW_TESTS) -m slow $(PYTEST_PARALLEL)

test-fast: install
	$(PY) -m pytest tests -m "not slow" $(PYTEST_PARALLEL)

lint: install
	$(PY) -m ruff check .

docs:
	test -x $(DOCS_VENV)/bin/mkdocs || python3 -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/pip install -q -r requirements/docs.txt
	$(DOCS_VENV)/bin/mkdocs build --strict --clean
