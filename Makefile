# The README's two commands. Everything else is a helper of these two.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: demo test install install-test services lint card reliability

$(BIN)/healthscore: setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: $(BIN)/healthscore
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(BIN)/healthscore
install-test: $(VENV)/.test-installed

## demo: the main job on the embedded default (sandboxes + SQLite), then the web UI
demo: install
	$(BIN)/healthscore db upgrade
	$(BIN)/healthscore demo

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
