# BZPEER developer commands; README.md explains them.
#   make run    install, start embedded Postgres/Redis when DATABASE_URL/REDIS_URL are
#               unset, migrate, import the demo data once, run a worker and the web server
#   make test   the whole suite (Postgres, Redis, a Celery worker, headless Chromium)

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=

# Local commands run with DEBUG on unless the environment says otherwise; deployments
# (docker-compose.yml) set DEBUG=false.
DEBUG ?= true
export DEBUG PORT

# Re-install when the dependency lists change.
VENV_STAMP := $(VENV)/.bzpeer-installed
NODE_STAMP := node_modules/.bzpeer-installed

.PHONY: help install run test lint fmt migrate worker web

help:
	@echo "make run      start BZPEER locally (embedded Postgres/Redis unless DATABASE_URL/REDIS_URL)"
	@echo "make test     run the whole test suite (PYTEST_ARGS='-k name' to narrow it)"
	@echo "make lint     ruff check + ruff format --check + mypy (django-stubs) + the import contract (lint-imports)"
	@echo "make fmt      ruff format + ruff check --fix"
	@echo "make install  create .venv, pip install -e '.[local,dev]', npm install"
	@echo "make migrate | worker | web   one piece at a time (needs DATABASE_URL/REDIS_URL or a running 'make run')"

install: $(VENV_STAMP) $(NODE_STAMP)

$(VENV_STAMP): pyproject.toml
	@test -x $(PY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --disable-pip-version-check --progress-bar off -e '.[local,dev]'
	@touch $@

# package.json pins exact versions; no lock file by design (.npmrc).
$(NODE_STAMP): package.json
	npm install --no-audit --no-fund
	@touch $@

run: install
	$(PY) -m bzpeer.localrun

test: install
	$(PY) -m bzpeer.localrun test $(PYTEST_ARGS)

# mypy's Django plugin imports the settings, which need these set (nothing is connected to).
LINT_ENV := DATABASE_URL="$${DATABASE_URL:-postgres://localhost/bzpeer}" \
	REDIS_URL="$${REDIS_URL:-redis://localhost:6379/0}"

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(LINT_ENV) $(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

fmt: $(VENV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrate: $(VENV_STAMP)
	$(PY) manage.py migrate --noinput

# --beat: the worker also runs the periodic tasks (the stuck graph slice sweep).
worker: $(VENV_STAMP)
	mkdir -p .local
	$(PY) -m celery -A bzpeer worker -l info --concurrency 2 --beat --schedule .local/celerybeat-schedule

web: install
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# The OpenAlex import benchmark (not a test): an OpenAlex-shaped snapshot written from the
# same corpus generator, imported end to end into its own database (BENCH_IMPORT_DATABASE,
# default bzpeer_bench_import), against the COPY floor and, per work, against a first import
# of BENCH_COMPARE_WORKS works (default 100,000; 0 skips it); figures into docs/benchmarks.md.
# BENCH_WORKS=100000 for a quick run; BENCH_IMPORT_WORKERS sets --workers (default 2).
.PHONY: bench-import
bench-import: $(VENV_STAMP)
	@if [ ! -f .local/env ]; then \
	  export DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bzpeer}" \
	         REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}"; \
	fi; \
	$(PY) manage.py bench_import

# Load and fault drills on the production shape (gunicorn, a Celery worker, Postgres, its own
# redis-server) with the demo data in its own database (DRILL_DATABASE, default bzpeer_drill,
# on DATABASE_URL's server); wrk drives 127.0.0.1 only. Prints the table and writes it into
# docs/reliability.md. DRILL_ARGS='--seconds 20' for a quick run; --help for the rest.
.PHONY: drill
drill: install
	@export DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bzpeer}"; \
	$(PY) -m bzpeer.drill $(DRILL_ARGS)

# The graph benchmark (not a test): a synthetic corpus (1M works) loaded into its own
# database (BENCH_DATABASE, default bzpeer_bench, on DATABASE_URL's server), then slice
# build and fragment serve times, then search timings (bench_search: results page and
# as-you-type fragment), written into docs/benchmarks.md. BENCH_WORKS=100000 for a quick
# run; BENCH_RUNS sets the runs per measurement (graph/management/commands/bench_*.py).
.PHONY: bench
bench: $(VENV_STAMP)
	@if [ ! -f .local/env ]; then \
	  export DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bzpeer}" \
	         REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}"; \
	fi; \
	$(PY) manage.py bench_graph && $(PY) manage.py bench_search

# The page throughput benchmark (not a test): gunicorn (2 workers, production settings) and
# wrk (/usr/bin/wrk) against a hello view and the public pages, warm and cold, anonymous and
# signed in, in its own database (BENCH_PAGES_DATABASE, default bzpeer_pages_bench: the
# corpus of `make bench` at BENCH_WORKS, default 100,000, plus the demo data). Figures into
# docs/benchmarks.md (graph/management/commands/bench_pages.py).
.PHONY: bench-pages
bench-pages: $(VENV_STAMP)
	@if [ ! -f .local/env ]; then \
	  export DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bzpeer}" \
	         REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}"; \
	fi; \
	$(PY) manage.py bench_pages
