# Two entry points for a fresh machine: `make run` (the main job) and `make test` (the test suite).
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install run test lint

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps $$($(PY) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["data"])')
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/mcrag pipeline

test: install
	$(VENV)/bin/pytest -q

lint: install
	$(VENV)/bin/ruff check kg reasoning vlm mcrag benchmarks scripts tests
	$(VENV)/bin/mypy
