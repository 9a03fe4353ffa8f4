# The two commands the README promises on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DIR ?= demo

.PHONY: demo test lint typecheck unit integration servers clean units

# setup.py builds the optional compiled scanner: a change to its source rebuilds it.
$(STAMP): pyproject.toml setup.py drkit/binlog/_scanner.c
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(BIN)/python -m pip install -q -e '.[dev]'
	@# Byte-compile as an installed package is: every drkit command starts ~0.1 s sooner, even
	@# where PYTHONDONTWRITEBYTECODE keeps Python from caching what it compiles.
	@$(BIN)/python -m compileall -q drkit tui >/dev/null
	@touch $(STAMP)

# contrib/systemd checked by systemd-analyze verify (installed here when missing: Debian/Ubuntu).
units: $(STAMP)
	@command -v systemd-analyze >/dev/null || apt-get install -y --no-install-recommends systemd
	$(BIN)/pytest tests/unit/test_systemd_units.py -q

servers:
	@.ci/ensure-servers

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check drkit tui tests benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

integration: $(STAMP) servers
	$(BIN)/pytest tests/integration tests/tui -q

test: $(STAMP) servers lint typecheck
	$(BIN)/pytest -q

demo: $(STAMP) servers
	$(BIN)/python -m drkit.demo --dir $(DEMO_DIR)

clean:
	-$(BIN)/drkit sandbox down --dir $(DEMO_DIR)/sandbox --purge
	rm -rf $(DEMO_DIR) $(VENV) .mypy_cache .ruff_cache .pytest_cache
