# The two commands: `make dev` runs the whole stack locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Branch coverage of chalicelib/ that `make test` requires (settings: [tool.coverage] in pyproject).
COVERAGE_FLOOR ?= 90

.PHONY: venv dev test unit functional integration lint sandbox clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

dev: $(STAMP)
	$(BIN)/python -m devstack.run

test: $(STAMP) lint
	$(BIN)/python -m pytest -q --cov --cov-report=term-missing --cov-fail-under=$(COVERAGE_FLOOR) tests

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

functional: $(STAMP)
	$(BIN)/python -m pytest -q tests/functional

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

lint: $(STAMP)
	$(BIN)/python -m ruff check app.py chalicelib devstack zwa tests
	$(BIN)/python -m mypy app.py chalicelib

sandbox: $(STAMP)
	$(BIN)/python -m devstack.zoho_sandbox --port $${ZWA_SANDBOX_PORT:-8810}

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
