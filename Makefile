# Two entry points: `make test` (the whole suite) and, with the grading pipeline, `make demo`.
# Both build their own virtual environment from nothing, so a fresh clone needs only Python 3.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

bench: $(VENV)/.bench-installed
	$(BIN)/python bench/bench_core.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
