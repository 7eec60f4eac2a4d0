# Agora: `make run` starts everything on an embedded default (SQLite, no servers);
# `make test` runs the whole suite. DATABASE_URL / REDIS_URL switch to PostgreSQL / Redis.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test lint bench messages compilemessages install browser-deps migrate seed check-deploy clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# axe-core for the browser suite's accessibility checks, pinned in package-lock.json (test only, never served).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

browser-deps: node_modules/.installed

# Babel compiles the catalogs, so `make run` does not need gettext installed.
compilemessages: install
	$(VENV)/bin/pybabel -q compile -d locale -D "django djangojs"
	$(VENV)/bin/pybabel -q compile -d locale_allauth -D django

migrate: install
	$(PY) manage.py migrate --no-input

seed: migrate
	$(PY) manage.py seed_demo

run: compilemessages seed
	@echo ""
	@echo "Agora is starting at http://$(HOST):$(PORT)/  (Ctrl-C stops web, worker and beat)"
	@echo ""
	$(VENV)/bin/honcho -f Procfile start

# Lint and format are part of the suite: a change that fails either is not green.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: compilemessages lint browser-deps
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest $(PYTEST_ARGS)

# Benchmarks print figures and side-by-side ratios (never asserted in tests); see docs/performance.md.
bench: install
	$(PY) -m exchange.engine.bench
	$(PY) manage.py bench_engine

messages: install
	$(PY) manage.py catalogs_refresh

check-deploy: install
	DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=$$($(PY) -c 'import secrets;print(secrets.token_urlsafe(50))') \
	  ALLOWED_HOSTS=agora.example $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var staticfiles .pytest_cache
