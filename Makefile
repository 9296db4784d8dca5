# Mashup Mesh — every target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: setup run demo test test-unit test-integration bench bench-analysis bench-separation \
	bench-render bench-scoring lint clean

setup: $(STAMP)

# Every install goes through constraints.txt (torch==2.13.0, the CPU build).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade -c constraints.txt "pip>=24"
	$(PIP) install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

run: setup
	$(VENV)/bin/mashup up

demo: setup
	$(VENV)/bin/mashup demo

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q -p no:cacheprovider

test-unit: setup
	$(PY) -m pytest -q tests/unit

test-integration: setup
	$(PY) -m pytest -q tests/integration

bench: setup
	$(PY) -m scripts.bench

bench-analysis bench-separation bench-scoring: setup
	$(PY) -m scripts.bench $(subst bench-,,$@)

lint: setup
	$(PY) -m ruff check .

clean:
	rm -rf data out .pytest_cache .ruff_cache

# Render benchmark with independent checks (options: ARGS="--quick" / "--engine both").
bench-render: setup
	$(PY) -m services.processing.bench $(ARGS)
