# Targets named in the README. `make test` is what CI runs (.ci/run).
PYTHON ?= python3

.PHONY: install test lint format bench

install:
	$(PYTHON) -m pip install -q -e .

test:
	$(PYTHON) -m pip install -q -e '.[test]'
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

bench:
	$(PYTHON) bench/routing.py
