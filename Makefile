# Two commands on a fresh machine: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_ARGS ?=
PYTEST_ARGS ?=
# torch==2.13.0 (CPU) is installed from the local wheel directory when the machine has one.
WHEELS := $(wildcard /opt/wheels)
PIP_FLAGS := $(if $(WHEELS),--find-links $(WHEELS),)

.PHONY: demo test lint install bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q $(PIP_FLAGS) -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/adscreen demo $(DEMO_ARGS)

lint: install
	$(BIN)/ruff check .

test: install lint
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

bench: install
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
