# Entry points on a Debian machine with Python 3.11; each installs into .venv with pip first:
#   make run         - the service alone, serving the shipped models (SQLite, http://127.0.0.1:8000)
#   make lint        - ruff check and ruff format --check over the tree ([tool.ruff] in pyproject.toml)
#   make test-quick  - no root, no datasets: the tests that need neither PostgreSQL, Chromium, docker-compose, Java,
#                      the real datasets nor a fresh install from PyPI (the markers in pyproject.toml), on SQLite
#   make test        - as root (installs PostgreSQL, Chromium, docker-compose, Java and Redis from Debian): make lint, the whole
#                      suite on SQLite, then tests/service and tests/deploy/test_scripts.py again on PostgreSQL
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgresql+psycopg://postgres:postgres@127.0.0.1:5432/nids_test
QUICK_MARKERS := not data and not browser and not compose and not slow and not spark

.PHONY: run lint test test-quick install-service install-dev system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install-service: $(BIN)/python
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e '.[train,dev,bench]'

system-deps:
	bash .ci/postgres.sh
	bash .ci/deploy-tools.sh
	bash .ci/browser-tools.sh
	bash .ci/java.sh
	bash .ci/redis.sh
	bash .ci/bench-tools.sh

run: install-service
	$(BIN)/python -m service

lint: install-dev
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

test-quick: install-dev
	env -u NIDS_TEST_DATABASE_URL $(BIN)/python -m pytest -n 2 -m "$(QUICK_MARKERS)"

test: install-dev system-deps lint
	env -u NIDS_TEST_DATABASE_URL $(BIN)/python -m pytest -n 2
	NIDS_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest -n 2 tests/service tests/deploy/test_scripts.py
