# Trade Tracker — the only entry points a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV_PY := .venv/bin/python
export UV_PYTHON_DOWNLOADS := never
MEMBERS := pyproject.toml uv.lock $(wildcard contracts/pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml sandbox/pyproject.toml)

.PHONY: help setup run sandbox test test-full test-fast lint format streams migrate contracts contracts-check bench k8s clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

.venv/.synced: $(MEMBERS)
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --all-packages --locked
	@touch $@

# Front-end packages come from the npm registry (package.json + lockfile), never committed.
GATEWAY := services/gateway
$(GATEWAY)/node_modules/.installed: $(wildcard $(GATEWAY)/package.json $(GATEWAY)/package-lock.json)
	@if [ -f $(GATEWAY)/package.json ]; then \
	  command -v npm >/dev/null || { echo "npm is missing: install Node.js (Debian: apt-get install -y nodejs npm)"; exit 2; }; \
	  cd $(GATEWAY) && npm ci --no-audit --no-fund --loglevel=error; \
	fi
	@mkdir -p $(GATEWAY)/node_modules && touch $@

setup: .venv/.synced $(GATEWAY)/node_modules/.installed ## Create or update the environment (uv, the locked workspace, npm packages)

run: setup ## Run the whole platform locally (demo mode); Ctrl-C stops it
	$(VENV_PY) deploy/local/run.py $(ARGS)

sandbox: setup ## Run the Capital.com simulator alone (60x clock): PORT=8201; demo keys in sandbox/README.md
	$(VENV_PY) -m tt_sandbox.capitalcom --host 127.0.0.1 --port $(or $(PORT),8201) --speed $(or $(SPEED),60)

lint: setup ## ruff, import boundaries, lock and contract drift
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	$(UV) lock --check
	$(VENV_PY) -m tt_contracts.schemagen check

format: setup ## Apply ruff's fixes and formatting
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

test: lint ## Lint, then the whole suite against real NATS and Postgres (started if not given)
	$(VENV_PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-fast: setup ## The suite without lint and without the fault tests
	$(VENV_PY) -m pytest -m "not slow and not fault" $(PYTEST_ARGS)

test-full: lint ## Everything, fault runs at nightly sizes
	TT_FAULT_EVENTS=10000 $(VENV_PY) -m pytest $(PYTEST_ARGS)

streams: setup ## Create or update the JetStream streams from the registry (NATS_URL)
	$(VENV_PY) -m tt_runtime.streams apply

migrate: setup ## Apply every service's migrations (DATABASE_URL); SERVICE=billing for one
	$(VENV_PY) -m tt_runtime.migrate upgrade $(if $(SERVICE),--service $(SERVICE),)

contracts: setup ## Regenerate contracts/schemas and the registry table in docs/architecture.md
	$(VENV_PY) -m tt_contracts.schemagen write

contracts-check: setup ## Fail on contract drift or a breaking change within a version
	$(VENV_PY) -m tt_contracts.schemagen check

bench: setup ## Run every benchmark; each prints its figure and a same-run reference ratio
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(VENV_PY) $$b || exit 1; done

k8s: setup ## Render a Kubernetes overlay: make k8s ENV=dev|prod
	.venv/bin/kubectl kustomize k8s/overlays/$(or $(ENV),dev)

clean: ## Remove the local runtime data (.run/) and caches
	rm -rf .run .pytest_cache .ruff_cache
