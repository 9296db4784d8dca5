# Mashup Mesh — every target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: setup run demo test test-unit test-integration lint clean \
	bench bench-analysis bench-scoring bench-separation bench-render bench-gateway

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

# Every benchmark prints figures as ratios measured in one run (× realtime per core, ...).
bench: bench-analysis bench-scoring bench-separation bench-render bench-gateway

# Analysis: ours vs plain Essentia on a synthesised annotated corpus (+ ../shared/real-audio).
bench-analysis: setup
	$(PY) -m services.analysis.bench

# /find-mashups on random 10k and 100k libraries, one core (~30 s); more sizes:
# $(PY) -m services.scoring.bench 10000 100000 1000000
bench-scoring: setup
	$(PY) -m services.scoring.bench

# Separation: SDR table, × realtime per core, peak memory (python -m services.separation.bench --help).
bench-separation: setup
	$(PY) -m services.separation.bench

# Processing: renders of synthesised pairs checked by independent measurements
# (options: ARGS="--quick" / "--engine both").
bench-render: setup
	$(PY) -m services.processing.bench $(ARGS)

# Gateway: get-mashup-status p50/p99 under 200 pollers, jobs accepted/s (stubbed chain).
bench-gateway: setup
	$(PY) -m gateway.bench

lint: setup
	$(PY) -m ruff check .

clean:
	rm -rf data out .pytest_cache .ruff_cache
