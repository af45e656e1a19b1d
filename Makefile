# The README's two commands. Everything else is a helper of these two.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# setuptools' editable install of several top-level packages ends with a boxed "!! Editable installation …
# Please be careful with folders in your working directory with the same name as your package" warning that
# pip -q still shows; it is about layouts unlike this one and only alarmed newcomers (report-readme.md).
PIP_QUIET := PYTHONWARNINGS="ignore:Editable installation"
# The interpreter the virtualenv is made from (setup.cfg: python_requires >=3.11,<3.13).
PYTHON ?= python3

.PHONY: demo demo-scale test install install-test services lint card reliability

$(BIN)/healthscore: setup.cfg pyproject.toml
	@echo "installing healthscore and its dependencies into $(VENV) (a few minutes the first time; pip is quiet) …"
	@test -x $(PY) || $(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null || { \
		echo "error: healthscore needs Python 3.11 or 3.12; $(PYTHON) is $$(command -v $(PYTHON) >/dev/null && $(PYTHON) --version 2>&1 || echo 'not installed')" >&2; \
		echo "hint: install Python 3.12 (apt-get install python3.12-venv, brew install python@3.12, or pyenv), then: make $(MAKECMDGOALS) PYTHON=python3.12" >&2; \
		exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PIP_QUIET) $(PY) -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: $(BIN)/healthscore
	$(PIP_QUIET) $(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(BIN)/healthscore
install-test: $(VENV)/.test-installed

## demo: the main job on the embedded default (sandboxes + SQLite), then the web UI on DEMO_PORT
## (`make demo DEMO_PORT=5050` when 5000 is taken)
DEMO_PORT ?= 5000
# (healthscore demo creates or upgrades the schema itself, quietly; a separate `db upgrade` printed 18 lines of
# migration notes, "applied 0011 — … (security audit 4)", as a newcomer's first output)
demo: install
	$(BIN)/healthscore demo --port $(DEMO_PORT)

## demo-scale: the 10k-account book on PostgreSQL + Redis with N workers and the scheduler, then the UI
DEMO_ACCOUNTS ?= 10000
DEMO_WORKERS ?= 2
DEMO_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/healthscore_demo
DEMO_BROKER_URL ?= redis://127.0.0.1:6379/0
demo-scale: install services
	DEMO_DATABASE_URL=$(DEMO_DATABASE_URL) bash scripts/ensure-services.sh --database
	$(BIN)/healthscore demo --accounts $(DEMO_ACCOUNTS) --history-days 0 --workers $(DEMO_WORKERS) \
		--database-url $(DEMO_DATABASE_URL) --broker-url $(DEMO_BROKER_URL) --port $(DEMO_PORT)

services:
	bash scripts/ensure-services.sh

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## card: build the HubSpot app card (UI extension) from integrations/hubspot/card; upload is manual (docs/admin/hubspot.md)
card:
	cd integrations/hubspot/card && npm ci --no-audit --no-fund && npm --prefix src/app/cards ci --no-audit --no-fund && npm run build

## test: lint, types, the HubSpot card build and the whole test suite (PostgreSQL and Redis are started if down)
test: install-test services lint card
	$(BIN)/pytest

## reliability: the full fault, crash, fuzz and schema suites (long); writes the figures into docs/reliability.md
reliability: install-test services
	$(PY) -m tests.reliability.report
