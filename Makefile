# Two entry points for a fresh Debian machine with Python 3.11 (run as root: `make test` installs system packages):
#   make run   - install the service alone and serve the shipped models (SQLite, http://127.0.0.1:8000)
#   make test  - install everything (service, trainer, test tools, PostgreSQL, Chromium, docker-compose)
#                and run the whole suite: once on SQLite, then the service and deployment tests on PostgreSQL
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgresql+psycopg://postgres:postgres@127.0.0.1:5432/nids_test

.PHONY: run test install-service install-dev system-deps

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
	bash .ci/bench-tools.sh

run: install-service
	$(BIN)/python -m service

test: install-dev system-deps
	env -u NIDS_TEST_DATABASE_URL $(BIN)/python -m pytest
	NIDS_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest tests/service tests/deploy/test_scripts.py
