# Agora: `make run` starts everything on an embedded default (SQLite, no servers);
# `make test` runs the whole suite. DATABASE_URL / REDIS_URL switch to PostgreSQL / Redis.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Email links: honcho gives every process its own PORT (web PORT, worker PORT+100, ...), so the
# address web serves at is fixed here, once, for all of them (a wildcard bind links as 127.0.0.1).
SITE_URL ?= http://$(if $(filter 0.0.0.0 :: [::],$(HOST)),127.0.0.1,$(HOST)):$(PORT)
export HOST PORT SITE_URL

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
	mkdir -p var/log
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
	$(PY) manage.py bench_sla
	$(PY) manage.py bench_console

messages: install
	$(PY) manage.py catalogs_refresh
	$(PY) manage.py catalogs_allauth

# Checks the settings only (nothing connects), so placeholder URLs and a throwaway key do.
check-deploy: install
	DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=$$($(PY) -c 'import secrets;print(secrets.token_urlsafe(50))') \
	  ALLOWED_HOSTS=agora.example SITE_URL=https://agora.example ALLAUTH_TRUSTED_PROXY_COUNT=1 DATABASE_URL=postgres://agora@127.0.0.1:5432/agora REDIS_URL=redis://127.0.0.1:6379/0 \
	  FIELD_ENCRYPTION_KEYS=$$($(PY) -c 'from cryptography.fernet import Fernet;print(Fernet.generate_key().decode())') \
	  $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var staticfiles .pytest_cache
