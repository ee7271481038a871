# Two commands for a new user: `make run` and `make test`. Each builds .venv first if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The web pages' browser assets (GOV.UK Frontend) and axe-core, as package-lock.json pins them.
NODE_STAMP := node_modules/.installed
# `make run PORT=9000` (or PORT in the environment) serves on another port.
PORT ?= 8000

.PHONY: run test bench bench-full demo clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

run: $(STAMP) $(NODE_STAMP)
	$(BIN)/funding-engine serve --dev --port $(PORT)

# Tests run in TEST_WORKERS processes (pytest-xdist); TEST_WORKERS=0 runs them in this one.
TEST_WORKERS ?= 2
test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Style, formatting and types, as pyproject.toml configures them; CI runs it before the tests.
.PHONY: lint
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Benchmarks are not tests: they print figures beside their baselines and write JSON, never assert time.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-full: $(STAMP)
	$(BIN)/python -m bench --full $(BENCH_ARGS)

# The main page of each role, from the demo data, into docs/screenshots/ (the README shows them).
.PHONY: screenshots
screenshots: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m tools.screenshots

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .hypothesis
