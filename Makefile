# The two commands: `make run` serves the site on the embedded default; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/authproject
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-embedded test-services test-bare test-bare-embedded test-bare-services lint security bench bench-quick clean browser wrk

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# `make run` needs only the runtime requirements: a fresh machine serves sooner.
$(VENV)/.runtime: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/.runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py demo_account
	$(BIN)/python manage.py runserver 127.0.0.1:8000

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run > /dev/null

# Static security checks (docs/security.md): bandit (justified skips in pyproject.toml) and
# pip-audit (justified ignores in .pip-audit-ignore; fails under CI if it cannot audit).
# check --deploy and schemathesis run as tests (tests/security/test_tooling.py).
security: $(VENV)/.installed
	$(BIN)/bandit -q -c pyproject.toml -r accounts api project
	$(BIN)/python .ci/pip_audit.py

# Pass 1: the embedded default (SQLite + local-memory cache).
test-embedded: $(VENV)/.installed
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest -m "not services" -p no:cacheprovider

# Pass 2: PostgreSQL + Redis (a throw-away test database; Redis database 15).
test-services: $(VENV)/.installed browser
	@if ! $(BIN)/python scripts/services_up.py "$(PG_URL)" "$(REDIS_TEST_URL)"; then \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!!! PostgreSQL or Redis is unreachable: the PostgreSQL + Redis pass did NOT run."; \
	  echo "!!! Start them (see README) and run make test again."; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  if [ -n "$$CI" ]; then exit 1; fi; \
	else \
	  DATABASE_URL="$(PG_URL)" REDIS_URL="$(REDIS_TEST_URL)" $(BIN)/pytest -p no:cacheprovider; \
	fi

# The pluggability proof (docs/integrating.md): accounts' tests in a bare Django project that
# installs only accounts (tests/bare_project: no api/, no project/, one URL include). Tests marked
# `project` need what only this project adds (the API, the home page) and are left out here.
BARE_PYTEST := $(BIN)/pytest -p no:cacheprovider --ds=tests.bare_project.settings
BARE_TESTS := tests/bare_project tests/accounts tests/revocation/test_state.py

test-bare-embedded: $(VENV)/.installed
	env -u DATABASE_URL -u REDIS_URL $(BARE_PYTEST) -m "not services and not project" $(BARE_TESTS)

test-bare-services: $(VENV)/.installed
	@if ! $(BIN)/python scripts/services_up.py "$(PG_URL)" "$(REDIS_TEST_URL)"; then \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!!! PostgreSQL or Redis is unreachable: the bare-project pass on them did NOT run."; \
	  echo "!!! Start them (see README) and run make test again."; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  if [ -n "$$CI" ]; then exit 1; fi; \
	else \
	  DATABASE_URL="$(PG_URL)" REDIS_URL="$(REDIS_TEST_URL)" $(BARE_PYTEST) -m "not project" $(BARE_TESTS); \
	fi

test-bare: test-bare-embedded test-bare-services

test: lint security test-embedded test-bare-embedded test-services test-bare-services
	@if $(BIN)/python scripts/services_up.py "$(BENCH_PG_URL)" "$(BENCH_REDIS_URL)"; then \
	  $(MAKE) --no-print-directory bench-quick; \
	else \
	  echo "PostgreSQL or Redis unreachable: the benchmark smoke run (make bench-quick) did NOT run."; \
	  if [ -n "$$CI" ]; then exit 1; fi; \
	fi

# Debian's Chromium for the browser (e2e) tests; Playwright drives it, its own browser download is never used.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y -q chromium || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }; \
	fi

# Benchmarks (docs/benchmarks.md): on the local PostgreSQL and Redis; the bench creates and drops its
# own database and removes its own Redis keys. wrk (the HTTP load generator) comes from Debian.
BENCH_PG_URL ?= $(PG_URL)
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14
BENCH_ENV := BENCH_PG_URL="$(BENCH_PG_URL)" BENCH_REDIS_URL="$(BENCH_REDIS_URL)"
wrk:
	@if ! command -v wrk > /dev/null; then \
	  echo "installing Debian's wrk for the HTTP benchmark"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y -q wrk || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q wrk; } \
	    || echo "wrk could not be installed: the HTTP benchmark will be skipped"; \
	fi

bench: $(VENV)/.installed wrk
	$(BENCH_ENV) $(BIN)/python bench/run.py

# A smoke run with small sizes (under 2 minutes); writes artifacts/bench-quick/, never docs/.
bench-quick: $(VENV)/.installed wrk
	$(BENCH_ENV) $(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
