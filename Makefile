# Two entry points for a fresh machine with Python 3.11:
#   make run   - install the service alone and serve the shipped models (SQLite, http://127.0.0.1:8000/docs)
#   make test  - install everything (service, trainer, test tools) and run the whole test suite
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install-service install-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install-service: $(BIN)/python
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e '.[train,dev]'

run: install-service
	$(BIN)/python -m service

test: install-dev
	$(BIN)/python -m pytest
