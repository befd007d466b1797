# The IOM survey pipeline. Quick start: `make run`, then `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv

# The interpreter the environment is built on: a complete Python 3.11, the system's own first.
# Distributions build theirs with profile-guided and link-time optimisation; a Python compiled from
# source without them (pyenv's default) ran `iom run` about 20% slower here (docs/assumptions.md
# O9). `make PYTHON=/path/to/python3.11 ...` chooses another; later plain `make` calls keep it
# (.venv/.synced names it) for as long as it works.
IS_PYTHON311 = [ -n "$$p" ] && [ -x "$$p" ] && "$$p" -c 'import sys, sqlite3, ssl, lzma, ctypes; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null
ifndef PYTHON
PYTHON := $(shell for p in "$$(cat $(VENV)/.synced 2>/dev/null)" /usr/bin/python3.11 "$$(command -v python3.11)" "$$(command -v python3)"; do \
  $(IS_PYTHON311) && { echo "$$p"; break; }; done)
endif
# uv itself is bootstrapped with any Python that has venv and pip (a system Python may lack them).
BOOTSTRAP_PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
# Installed packages are byte-compiled once, so imports stay fast even where the environment
# sets PYTHONDONTWRITEBYTECODE (Python then never caches compiled modules itself).
export IOM_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(IOM_DATA_DIR)/dagster_home
# The instance configuration: dagster.yaml (SQLite), or dagster.postgres.yaml for production.
DAGSTER_CONFIG ?= dagster.yaml

.PHONY: help run test dev bench sample system-deps clean bytecode

help:
	@echo "make run     - set up .venv, write the synthetic sample into \$$IOM_DATA_DIR/landing, run the pipeline"
	@echo "make test    - everything the tests need, then the whole test suite"
	@echo "make dev     - the Dagster UI on http://127.0.0.1:3000"
	@echo "make bench   - the pipeline against a plain pandas script at 10k, 100k and 1M rows"

# uv is not on a fresh machine: bootstrap it into .tools/ with the machine's Python.
$(UV):
	@[ -n "$(BOOTSTRAP_PYTHON)" ] || { echo "no python3 found to install uv with: install Python 3.11"; exit 1; }
	$(BOOTSTRAP_PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The stamp names the interpreter: another PYTHON re-syncs (uv then rebuilds .venv on it).
ifneq ($(shell cat $(VENV)/.synced 2>/dev/null),$(PYTHON))
.PHONY: $(VENV)/.synced
endif
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	@[ -n "$(PYTHON)" ] || { echo "no Python 3.11 found: install one, or pass PYTHON=/path/to/python3.11"; exit 1; }
	$(UV) sync --frozen --compile-bytecode --python "$(PYTHON)"
	@echo "$(PYTHON)" > $@

# The project's own modules, byte-compiled too (an editable install is not, and where
# PYTHONDONTWRITEBYTECODE is set Python would compile them from source on every run).
bytecode: $(VENV)/.synced
	@$(VENV)/bin/python -m compileall -q -j 0 iom_pipeline

$(DAGSTER_HOME)/dagster.yaml: $(DAGSTER_CONFIG)
	@mkdir -p $(DAGSTER_HOME)
	cp $(DAGSTER_CONFIG) $@

sample: $(VENV)/.synced
	$(VENV)/bin/iom sample --year 2011 --year 2013

run: bytecode $(DAGSTER_HOME)/dagster.yaml sample
	$(VENV)/bin/iom run --year 2011 --year 2013
	@echo
	@echo "Results (synthetic reconstruction):"
	@echo "  report:       $(IOM_DATA_DIR)/publication/2013/report.html"
	@echo "  figures, CSV and spreadsheets: $(IOM_DATA_DIR)/publication/<year>/"
	@echo "  BI snapshot:  $(IOM_DATA_DIR)/publication/iom_marts.duckdb (schema marts)"
	@echo "  warehouse:    $(IOM_DATA_DIR)/warehouse/iom.duckdb"
	@echo "  Dagster UI:   make dev"

# Debian packages the browser, PostgreSQL and SFTP tests use; installed only when missing (CI runs as root).
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -x /usr/sbin/sshd ] || missing="$$missing openssh-server"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "note:$$missing not installed (not root); the tests that need them will be skipped"; \
	  fi; \
	fi

test: bytecode system-deps
	$(VENV)/bin/python -m pytest

dev: bytecode $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000 -m iom_pipeline.definitions

bench: bytecode
	$(VENV)/bin/python bench/run_bench.py

clean:
	rm -rf $(IOM_DATA_DIR) .pytest_cache test-artifacts
