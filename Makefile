# careshare: `make demo` runs a few report dates through the real DAGs on the embedded default;
# `make test` runs every test suite. Both install everything first.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test test-fast lint bench services browser clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml sim/pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e ".[airflow,dev]" -e sim
	touch $@

services:
	scripts/ensure_services.sh

browser:
	scripts/ensure_chromium.sh

demo: install
	$(BIN)/python scripts/demo.py

# Three workers on this machine's two cores: each worker spends a good part of its time waiting on
# subprocesses, HTTP servers and retries, which a third fills (docs/performance.md). A file's tests
# stay on one worker, so its module-scoped fixtures (a day of DAG runs, a published story) are built
# once. (--dist loadgroup does not group with pytest 9.2 and xdist 3.8: tests of one xdist_group
# still go to several workers.)
PARALLEL := -n 3 --dist loadfile

test: install services browser
	$(BIN)/ruff check .
	$(BIN)/pytest $(PARALLEL) -m "not serial"
	$(BIN)/pytest -m serial

test-fast: install services
	$(BIN)/pytest $(PARALLEL) -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install services
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .careshare-demo
