# Telederm task runner. `make run` and `make test` do all the set-up they need on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen
export UV_PYTHON ?= 3.11

.PHONY: run test setup system-deps python-deps frontend messages lint security audit test-sqlite \
	test-postgres bench demo serve worker screenshots clean

run: ## install, migrate, load demo data, serve on http://127.0.0.1:8000 with its worker
	bash scripts/install-system-deps.sh run
	$(MAKE) setup
	$(RUN) telederm migrate --noinput
	$(RUN) telederm demo
	$(RUN) telederm collectstatic --noinput -v0
	$(RUN) telederm serve --with-worker

test: ## lint, types, architecture, migrations, security scans, the suite on SQLite and PostgreSQL
	bash scripts/install-system-deps.sh test
	$(MAKE) setup
	$(MAKE) lint
	$(MAKE) security
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

security: ## bandit over the code, pip-audit over uv.lock (docs/runbooks/security-scans.md)
	$(RUN) bandit -c pyproject.toml -r telederm -q
	$(MAKE) audit

# pip-audit asks PyPI's JSON API (https://pypi.org/pypi/NAME/VERSION/json) for the advisories of
# every locked package. AUDIT_PROBE is one such URL: it tells "the service is unreachable" (say
# so, fail only with AUDIT_REQUIRED=1) apart from "a package is vulnerable" (always fail).
AUDIT_PROBE ?= https://pypi.org/pypi/django/5.2/json
AUDIT_REQUIRED ?= 0
# Advisories accepted for a documented reason: "--ignore-vuln ID ..." (see the runbook).
PIP_AUDIT_IGNORE ?=
AUDIT_REQUIREMENTS := var/audit-requirements.txt

audit: ## pip-audit over every locked package, production and development
	@mkdir -p var
	$(UV) export --frozen --format requirements-txt --no-emit-project --all-groups --quiet \
		-o $(AUDIT_REQUIREMENTS)
	@if $(RUN) python -c "import urllib.request as r; r.urlopen('$(AUDIT_PROBE)', timeout=20)" \
		2>/dev/null; then \
		$(RUN) pip-audit --strict --disable-pip --progress-spinner off \
			-r $(AUDIT_REQUIREMENTS) $(PIP_AUDIT_IGNORE); \
	elif [ "$(AUDIT_REQUIRED)" = 1 ]; then \
		echo "pip-audit: PyPI's vulnerability API is unreachable ($(AUDIT_PROBE))." >&2; \
		exit 1; \
	else \
		echo "pip-audit: NOT RUN. PyPI's vulnerability API is unreachable from this machine"; \
		echo "  ($(AUDIT_PROBE)); the dependencies were not audited. Run"; \
		echo "  'make audit AUDIT_REQUIRED=1' where it is reachable."; \
	fi

test-sqlite:
	$(RUN) pytest

# The browser tests drive the same services through Chromium and run once, on SQLite: what is
# particular to PostgreSQL (locking, the access log's trigger and lock, SKIP LOCKED, the queue
# queries) is in the rest of the suite, which runs on both.
test-postgres: ## the suite but the browser tests, on a throwaway PostgreSQL cluster on 127.0.0.1
	$(RUN) python scripts/with_postgres.py pytest -m "not browser"

bench: ## timings, written to docs/benchmarks.md
	$(RUN) python scripts/bench.py
	$(RUN) python scripts/with_postgres.py python scripts/bench_queues.py
	$(RUN) python scripts/with_postgres.py python scripts/bench_fhir.py

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
