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

test: install services browser
	$(BIN)/ruff check .
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not slow and not postgres"

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install services
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .careshare-demo
