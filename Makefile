# Relance. `make run` and `make test` do all the set-up on a fresh machine that has Python 3.11+
# and make: a virtualenv in .venv with the project and its dev tools (re-installed only when
# pyproject.toml changes), the compiled French catalogue and, for the browser tests, Debian's
# chromium when apt can install it. Nothing is printed when there is nothing to do.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.relance-deps
# Extra pytest arguments: make test ARGS="-k import -x"
ARGS ?=
PIP_FLAGS := -qq --disable-pip-version-check --no-input

.PHONY: help run test test-postgres lint format messages setup browser

help:
	@echo "make run            set up, migrate, load demo data, print the admin login, then run the"
	@echo "                    web admin (http://127.0.0.1:8000/admin/, or PORT=...) and a worker"
	@echo "make test           set up and run the whole test suite (ARGS=... goes to pytest)"
	@echo "make test-postgres  the suite on PostgreSQL (DATABASE_URL, default local postgres)"
	@echo "make lint           ruff check and ruff format --check"
	@echo "make format         ruff format and ruff check --fix"
	@echo "make messages       compile the translation catalogues (locale/*/LC_MESSAGES/*.po)"

# The interpreter: $(PYTHON) if given, else the first python3 found on PATH that is 3.11+.
$(PY):
	@for candidate in $(PYTHON) python3 python3.13 python3.12 python3.11; do \
		if command -v "$$candidate" >/dev/null 2>&1 && \
			"$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
			python="$$candidate"; break; \
		fi; \
	done; \
	if [ -z "$${python:-}" ]; then \
		echo "Relance needs Python 3.11 or newer on PATH (python3 is: $$(python3 --version 2>&1))." >&2; \
		exit 1; \
	fi; \
	echo "Creating $(VENV) with $$("$$python" --version)"; \
	"$$python" -m venv $(VENV) || { \
		echo "Could not create $(VENV); on Debian/Ubuntu: apt-get install python3-venv" >&2; \
		rm -rf $(VENV); exit 1; }

$(DEPS_STAMP): pyproject.toml | $(PY)
	@echo "Installing Relance and its dev tools into $(VENV) (pip install -e \".[dev]\")"
	@$(PY) -m pip install $(PIP_FLAGS) -e ".[dev]"
	@touch $@

setup: $(DEPS_STAMP)
	@$(PY) scripts/compile_messages.py

browser:
	@bash scripts/ensure_chromium.sh

run: setup
	@$(PY) scripts/dev_run.py

test: setup browser
	@$(PY) scripts/run_tests.py $(ARGS)

test-postgres: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/relance
test-postgres: setup browser
	@echo "Test suite on $(DATABASE_URL)"
	@$(PY) scripts/run_tests.py $(ARGS)

lint: $(DEPS_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(DEPS_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: $(DEPS_STAMP)
	@$(PY) scripts/compile_messages.py --force
