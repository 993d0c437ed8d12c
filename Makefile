# Verification Record: `make run` serves the API with the founding example; `make test`
# runs the whole suite. Both install what they need (uv, then the locked dependencies).

SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PYTHON ?= python3

.PHONY: help install run test fuzz bench lint format openapi client client-python client-typescript check-openapi clean-data

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

$(UV):
	@echo "installing uv (the Python package manager) for this user" >&2
	$(PYTHON) -m pip install --user --quiet uv || $(PYTHON) -m pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	@touch $@

install: .venv/.synced ## Install the locked dependencies into .venv

run: install ## Serve the API with the founding example on http://127.0.0.1:8000
	@UV="$(UV)" bash scripts/run

test: install ## Run the whole test suite against a real PostgreSQL
	@bash scripts/ensure-postgres
	@bash scripts/ensure-test-tools
	$(UV) run pytest

# The suite runs tests/test_fuzz.py with 10 examples per operation; this runs it longer.
FUZZ_EXAMPLES ?= 500
fuzz: install ## Schemathesis against the app, FUZZ_EXAMPLES (500) examples per operation
	@bash scripts/ensure-postgres
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(UV) run pytest -p no:cacheprovider tests/test_fuzz.py

# `make bench`: its own PostgreSQL and server, a 100k-statement corpus, wrk; prints one
# table and writes artifacts/bench/results.json (README, "Benchmark"). BENCH_SMOKE=1 is
# the seconds-long harness check that CI runs (as a test), never a timing assertion.
BENCH_DURATION ?= 10
BENCH_SMOKE ?=
bench: install ## Benchmark against the framework, asyncpg and write ceilings (BENCH_DURATION=10 s a run, BENCH_STATEMENTS=1000000, BENCH_SMOKE=1)
	@bash scripts/ensure-postgres
	@bash scripts/ensure-test-tools wrk
	BENCH_DURATION=$(BENCH_DURATION) BENCH_SMOKE=$(BENCH_SMOKE) $(UV) run python -m bench

lint: install ## ruff (format check + lint), mypy, and the layering rule (docs/architecture.md)
	$(UV) run ruff format --check service tests migrations bench devtools
	$(UV) run ruff check service tests migrations bench devtools
	$(UV) run mypy
	$(UV) run python -m devtools.layers

format: install ## Format and fix what ruff can
	$(UV) run ruff format service tests migrations bench devtools
	$(UV) run ruff check --fix service tests migrations bench devtools

openapi: install ## Regenerate openapi/openapi.json from the app
	$(UV) run python -m service openapi --output openapi/openapi.json

client: client-python client-typescript ## Build both clients: Python into build/client/, the TypeScript types

# The generator works offline; it runs ruff (from .venv) over what it writes.
CLIENT_DIR ?= build/client
client-python: install ## Generate the typed Python partner client into build/client/
	$(UV) run openapi-python-client generate --path openapi/openapi.json \
		--config openapi/client-config.yaml --meta uv --output-path $(CLIENT_DIR) \
		--overwrite --fail-on-warning

# The locked npm packages, the types from openapi/openapi.json, checked, then compiled
# into clients/typescript/dist/. Needs Node.js and npm (`scripts/ensure-test-tools node npm`).
client-typescript: ## Generate and type-check the TypeScript client in clients/typescript/
	cd clients/typescript && npm ci --no-audit --no-fund && npm run generate \
		&& npm run typecheck && npm run build

clean-data: ## Stop and delete the local PostgreSQL of `make run`
	-$(UV) run python -m devtools.devdb stop --data-dir .data/postgres
	@# the cluster may live outside the checkout, behind a link (see README)
	if [ -L .data/postgres ]; then rm -rf "$$(readlink -f .data/postgres)"; fi
	rm -rf .data
