# The two commands: `make dev` runs the whole stack locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Branch coverage of chalicelib/ that `make test` requires (settings: [tool.coverage] in pyproject).
COVERAGE_FLOOR ?= 90

.PHONY: venv dev test unit functional integration lint mutation sandbox artifacts bench clean

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
	$(BIN)/python -m ruff check app.py chalicelib devstack zwa tests benchmarks
	$(BIN)/python -m mypy app.py chalicelib zwa

# Mutation testing: mutmut mutates the pure modules and zoho/ ([tool.mutmut] in pyproject), runs the
# unit and functional tests that reach each mutant, and ends with the score on one line. About an
# hour on two cores, so not part of `make test`. It starts afresh each time: a cached verdict
# would not see tests added since. Then `mutmut results` lists the survivors, `mutmut show NAME`
# shows one. The ci Hypothesis profile: no deadline for slowed mutants, the same examples each run.
mutation: $(STAMP)
	rm -rf mutants
	HYPOTHESIS_PROFILE=ci $(BIN)/mutmut run
	$(BIN)/mutmut export-cicd-stats > /dev/null
	$(BIN)/python -c "$$MUTATION_SCORE"

define MUTATION_SCORE
import json
s = json.load(open("mutants/mutmut-cicd-stats.json"))
print(f"mutation score: {s['killed']}/{s['total']} mutants killed "
      f"({100 * s['killed'] / max(s['total'], 1):.1f}%); {s['survived']} survived, "
      f"{s['no_tests']} reached by no test, {s['timeout']} timed out")
endef
export MUTATION_SCORE

sandbox: $(STAMP)
	$(BIN)/python -m devstack.zoho_sandbox --port $${ZWA_SANDBOX_PORT:-8810}

# The IAM policies and infra/resources.json, generated from zwa/resources.py and
# .chalice/config.json; make test fails while the committed ones are out of date.
artifacts: $(STAMP)
	$(BIN)/python -m zwa.artifacts

# Every benchmark, one after another, each printing its figures and ratios (see BENCHMARKS.md).
# The cold start's exit status says whether both functions are within 1.25x a bare import boto3.
# Every script runs, even after one that missed its goal (it exits 1); then bench fails.
bench: $(STAMP)
	status=0; \
	$(BIN)/python -m benchmarks.coldstart || status=1; \
	$(BIN)/python -m benchmarks.overhead || status=1; \
	$(BIN)/python -m benchmarks.pipeline || status=1; \
	$(BIN)/python -m benchmarks.throughput || status=1; \
	$(BIN)/python -m benchmarks.alternatives || status=1; \
	$(BIN)/python -m benchmarks.chaos --webhooks 300 --records 20 || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
