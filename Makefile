# Telederm task runner. `make run` and `make test` do all the set-up they need.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
RUN := $(UV) run --frozen
export UV_PYTHON ?= 3.11

.PHONY: run test setup system-deps python-deps frontend messages lint typecheck test-sqlite test-postgres bench demo serve worker clean

run: setup ## install, migrate, load demo data, serve on http://127.0.0.1:8000 with a worker
	$(RUN) telederm migrate --noinput
	$(RUN) telederm demo
	$(RUN) telederm collectstatic --noinput -v0
	$(RUN) telederm serve --with-worker

test: setup lint test-sqlite test-postgres ## everything CI checks

setup: python-deps frontend messages

system-deps: ## Debian packages for the browser and database tests (root or sudo)
	bash scripts/install-system-deps.sh

python-deps:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
	$(UV) sync --frozen

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

test-postgres: ## the same suite on a throwaway PostgreSQL cluster on loopback
	$(RUN) python scripts/with_postgres.py pytest

bench:
	$(RUN) python scripts/bench.py

demo:
	$(RUN) telederm migrate --noinput
	$(RUN) telederm demo

serve:
	$(RUN) telederm serve

worker:
	$(RUN) telederm worker

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache test-artifacts
