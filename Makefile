# Telederm task runner. `make run` and `make test` do all the set-up they need on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen
export UV_PYTHON ?= 3.11

.PHONY: run test setup system-deps python-deps frontend messages lint test-sqlite test-postgres \
	bench demo serve worker screenshots clean

run: ## install, migrate, load demo data, serve on http://127.0.0.1:8000 with its worker
	bash scripts/install-system-deps.sh run
	$(MAKE) setup
	$(RUN) telederm migrate --noinput
	$(RUN) telederm demo
	$(RUN) telederm collectstatic --noinput -v0
	$(RUN) telederm serve --with-worker

test: ## lint, types, architecture, migrations, then the whole suite on SQLite and on PostgreSQL
	bash scripts/install-system-deps.sh test
	$(MAKE) setup
	$(MAKE) lint
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

setup: python-deps frontend messages

system-deps: ## Debian packages for the browser and database tests (as root or with sudo)
	bash scripts/install-system-deps.sh test

python-deps:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --quiet

frontend:
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

messages:
	$(RUN) telederm compilemessages --ignore=.venv -v0

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy telederm
	$(RUN) lint-imports
	$(RUN) telederm makemigrations --check --dry-run

test-sqlite:
	$(RUN) pytest

test-postgres: ## the same suite on a throwaway PostgreSQL cluster on 127.0.0.1
	$(RUN) python scripts/with_postgres.py pytest

bench: ## timings, written to docs/benchmarks.md
	$(RUN) python scripts/bench.py

demo:
	$(RUN) telederm migrate --noinput
	$(RUN) telederm demo

serve:
	$(RUN) telederm serve --with-worker

worker:
	$(RUN) telederm worker

screenshots: ## phone and desktop screenshots of a running `make run`, into test-artifacts/
	$(RUN) python scripts/screenshots.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache test-artifacts
