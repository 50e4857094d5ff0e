# Entry points for a fresh clone. Each target sets up .venv first (tools/install.sh,
# a few seconds when already done).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo demo-quick test test-fast lint
install:
	MMMIMIC_VENV=$(abspath $(VENV)) bash tools/install.sh

demo: install
	$(PY) tools/run_demo.py

demo-quick: install
	$(PY) tools/run_demo.py --quick

test: install
	$(PY) -m pytest tests

test-fast: install
	$(PY) -m pytest tests -m "not slow"

lint: install
	$(PY) -m ruff check .
