# JPDIT complaints & appeals: the two commands a developer needs are `make run` and `make test`.
#
#   make run    virtualenv + locked install + migrate + demo data, then the site, a Celery worker, beat and the mail reader
#   make test   the same install, lint, then the whole test suite (prints what it skipped and why)
#   make suite  the test suite alone (no lint); AT=<moment> runs it as if it were then
#   make lint   ruff check + ruff format --check + the apps' layers (lint-imports) + types (mypy)
#   make format ruff format + ruff check --fix
#   make lock   regenerate requirements/*.txt from requirements/*.in (uv, in a throwaway virtualenv)
#   make clean  remove local state (var/: database, broker, mail, private files) and caches; keeps .venv
#   make distclean  clean, and remove .venv too

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The locks are made for Python 3.11: prefer python3.11, else python3 (checked below).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Reinstall only when the lock changes: this stamp is newer than requirements/dev.txt after an install.
STAMP := $(VENV)/.installed-from-lock

PORT ?= 8000
# Links in emails point at the port the site really listens on.
SITE_URL ?= http://127.0.0.1:$(PORT)
export PORT SITE_URL
export PYTHONUNBUFFERED := 1

# Folders the embedded services need before anything starts (the filesystem broker does not create them).
RUNTIME_DIRS := var/broker/queue var/broker/processed var/mail var/private var/inbound/complaints/new var/inbound/appeals/new

# `make test` runs the suite on two processes; override with PYTEST_ARGS="-n 0" (serial) or "-k something".
PYTEST_ARGS ?= -n 2 --dist loadgroup

.PHONY: help install run serve migrate seed test suite lint format lock clean distclean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

install: $(STAMP)

$(STAMP): requirements/dev.txt
	@test -x $(BIN)/python || { echo "Creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@$(BIN)/python scripts/check_python.py
	@echo "Installing the locked dependencies from requirements/dev.txt into $(VENV) (about 30 s the first time)"
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	@$(BIN)/pip check --quiet || $(BIN)/pip check
	@touch $@

$(RUNTIME_DIRS):
	@mkdir -p $@

migrate: install | $(RUNTIME_DIRS)
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# Web (runserver on $PORT), a Celery worker, one beat and the mail reader, under honcho: Ctrl-C stops them all.
# honcho hands the first process of Procfile.dev the port given with -p.
serve: install | $(RUNTIME_DIRS)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho --procfile Procfile.dev --app-root . start --port $(PORT)

run: seed
	@echo "Starting the site on http://127.0.0.1:$(PORT)/ with a Celery worker, beat and the mail reader (Ctrl-C stops everything)."
	@echo "Emails to complaints@ and appeals@: drop .eml files into var/inbound/complaints/new/ or var/inbound/appeals/new/."
	@$(MAKE) --no-print-directory serve

test: install lint suite

# The test suite alone (`make test` lints first). AT=2026-12-26T10:00 runs it as if it were that moment (tests/clock.py).
suite: install
	env -u DJANGO_SETTINGS_MODULE -u DJANGO_ENV $(BIN)/python -m pytest -p scripts.pytest_summary $(if $(AT),--at=$(AT)) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock:
	scripts/lock.sh $(if $(UPGRADE),--upgrade)

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache .mypy_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
