# spurbench: `make` lists the targets. Every target builds .venv from pyproject.toml if needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PAPER := results/paper
JOBS ?= -1
# make bench runs the declared headline suite at each scenario's largest training size with 3 seeds
# per cell, to stay within minutes; make paper runs every spec with its own seeds and sizes
BENCH_SEEDS ?= 3
# the `neural` extra's torch, installed first: 2.13.0 is a CPU build (about 750 MB) that pip finds
# on our machines; an unpinned torch from PyPI is a CUDA build of several GB on x86-64 Linux
TORCH ?= torch==2.13.0
# make perf PERF_ARGS="--scale" adds the 20,000-fit Dask grid; "--default-grid" the full grid and its report
PERF_ARGS ?=
# make test spreads the test files over this many processes (pytest-xdist; a file's tests stay
# together in one process, so a module's fixtures run once); 1 runs them in this process
TEST_JOBS ?= 2

.DEFAULT_GOAL := help
.PHONY: help venv bench quick figures paper test browser lint perf clean

help: ## print every target with a one-line description
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev,dask,neural,data]"
	touch $(STAMP)

venv: $(STAMP) ## create or refresh .venv from pyproject.toml

bench: $(STAMP) ## the headline suite (largest training size, 3 seeds); results and report in results/latest
	$(PY) -m spurbench run --headline --largest-n --out results/latest --overwrite --jobs $(JOBS) --seeds $(BENCH_SEEDS)

quick: $(STAMP) ## a small grid in seconds; results in results/quick
	$(PY) -m spurbench run --quick --out results/quick --overwrite --jobs $(JOBS)

paper: $(STAMP) ## rerun the committed reference run (results/paper) from scratch
	$(PY) -m spurbench run --out $(PAPER) --overwrite --jobs $(JOBS) --pdf

figures: $(STAMP) $(PAPER)/results.parquet ## regenerate results/paper figures and report from the committed rows (no refit)
	$(PY) -m spurbench report $(PAPER) --pdf

test: $(STAMP) ## run the test suite (finds Chromium for the browser test; as root, installs it with apt)
	@$(MAKE) --no-print-directory browser
	$(PY) -m pytest $(if $(filter-out 1,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile)

# The browser test drives the system's Chromium (or $SPURBENCH_CHROMIUM). Where there is none, root
# with apt-get installs it quietly; a failed install fails nothing: the test is then skipped with its
# reason in pytest's summary (SPURBENCH_REQUIRE_BROWSER=1, as .ci/run sets, makes that a failure).
browser:
	@if [ -n "$$SPURBENCH_CHROMIUM" ] || [ -x /usr/bin/chromium ] || command -v chromium >/dev/null; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium with apt-get for the browser test"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
			|| echo "could not install chromium: the browser test will be skipped"; \
	else \
		echo "no chromium and no root apt-get to install it: the browser test will be skipped"; \
	fi

lint: $(STAMP) ## ruff (with isort rules) over the package and tests
	$(PY) -m ruff check .

perf: $(STAMP) ## measure harness, generator, start-up, report / fits, neural fit times (PERF_ARGS="--scale --default-grid": minutes more)
	$(PY) tools/perf.py --out results/perf.json $(PERF_ARGS)
	$(PY) tools/perf_neural.py --out results/perf_neural.json

clean: ## remove .venv, caches and scratch results (keeps results/paper)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info results/latest results/quick
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
