# Two commands after cloning: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Test processes: most tests wait on servers and subprocesses, so three share two cores well.
# Each test file runs whole on one worker (--dist loadfile); PYTEST_WORKERS=0 runs in-process.
PYTEST_WORKERS ?= 3

.PHONY: demo test lint typecheck check bench clean help

help:
	@echo "make demo   - run the whole stack on the embedded default (broker, gateway, rules, API, simulators)"
	@echo "make test   - run the whole test suite (lint, types, unit, integration, e2e)"
	@echo "make bench  - run the benchmarks"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"' \
		|| { echo "error: Python 3.11 or newer is required (set PYTHON=python3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# grafana-client's niquests brings urllib3-future, whose wheel overwrites urllib3 itself (and
	# breaks requests-based tools such as schemathesis); built from source with this variable it
	# installs beside urllib3 under its own name, as its docs describe.
	URLLIB3_NO_OVERRIDE=true $(BIN)/python -m pip install --quiet --no-binary urllib3-future -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/facility demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache data
