# martlake — `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help demo test test-fast lint format typecheck bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "martlake needs Python >= 3.11: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP) ## Create ./demo from the sandbox example (once) and run the whole pipeline there
	@test -f demo/martlake.toml || $(BIN)/martlake init demo --example dtc_brand
	cd demo && ../$(BIN)/martlake run

test: $(STAMP) ## Run the whole test suite (what CI runs)
	$(BIN)/python -m pytest -n 3 --dist loadfile $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

test-fast: $(STAMP) ## Run the suite without the slow tests (quick feedback while coding)
	$(BIN)/python -m pytest -n 3 --dist loadfile -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff lint + format check, mypy strict
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

bench: $(STAMP) ## Benchmarks: demo step timings, load rows/s vs dlt, marts full vs daily build
	$(BIN)/python tests/bench/bench_pipeline.py
	$(BIN)/python tests/bench/bench_marts.py

clean: ## Remove the virtualenv, caches and the demo project
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache
