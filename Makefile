# Loanline. `make run` starts the whole system on SQLite with the demo portfolio; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
POSTGRES_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

LOCALES := es fr pt_BR de it hi id zh_CN vi ko fil ar
AXE := test-artifacts/node/node_modules/axe-core/axe.min.js

.PHONY: install run test test-postgres lint format bench clean catalogs-extract catalogs-update catalogs-compile \
	documents-catalogs-extract documents-catalogs-update statement-pictures \
	console-catalogs-extract console-catalogs-update

.PHONY: browser-deps bench-deps pdf-deps

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed catalogs-compile

# gettext catalogs of the bot: extract the English messages, merge them into each locale, compile
catalogs-extract: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k say -k ask --add-comments=Translators: --no-wrap --sort-by-file --project=loanline \
		--copyright-holder=Loanline -o locales/bot.pot .

catalogs-update: catalogs-extract
	for locale in $(LOCALES); do \
		if [ -f locales/$$locale/LC_MESSAGES/bot.po ]; then \
			$(BIN)/pybabel update --no-wrap -i locales/bot.pot -d locales -D bot -l $$locale; \
		else \
			$(BIN)/pybabel init --no-wrap -i locales/bot.pot -d locales -D bot -l $$locale; \
		fi; \
	done

# Each .mo is compiled only when its .po is newer: `make test` and `make test-postgres` run side by side in CI
# (.ci/run), and neither may rewrite a catalog while the other's tests read it.
CATALOGS_MO := $(patsubst %.po,%.mo,$(wildcard locales/*/LC_MESSAGES/bot.po locales/*/LC_MESSAGES/documents.po))

catalogs-compile: $(CATALOGS_MO)

locales/%.mo: locales/%.po | $(BIN)/.installed
	$(BIN)/pybabel compile -i $< -o $@ >/dev/null

# gettext catalogs of the statements, notices and letters (domain `documents`, servicing/documents/templates)
documents-catalogs-extract: $(BIN)/.installed
	$(BIN)/pybabel extract -F servicing/documents/babel.cfg -k wording --no-wrap --sort-by-file --project=loanline \
		--copyright-holder=Loanline -o locales/documents.pot .

# one statement page per language as PNG: test-artifacts/statements/, and the small ones docs/documents.md shows
statement-pictures: $(BIN)/.installed pdf-deps
	LOANLINE_DOCS_IMAGES=1 $(BIN)/python -m pytest -q tests/integration/test_statement_pictures.py

documents-catalogs-update: documents-catalogs-extract
	for locale in $(LOCALES); do \
		if [ -f locales/$$locale/LC_MESSAGES/documents.po ]; then \
			$(BIN)/pybabel update --no-wrap -i locales/documents.pot -d locales -D documents -l $$locale; \
		else \
			$(BIN)/pybabel init --no-wrap -i locales/documents.pot -d locales -D documents -l $$locale; \
		fi; \
	done

# gettext catalogs of the console's interface (domain `console`); the app compiles them when it starts
CONSOLE_LOCALES := es fr

console-catalogs-extract: $(BIN)/.installed
	$(BIN)/pybabel extract -F console/babel.cfg -k _l --no-wrap --sort-by-file --project=loanline \
		--copyright-holder=Loanline -o console/translations/console.pot .

console-catalogs-update: console-catalogs-extract
	for locale in $(CONSOLE_LOCALES); do \
		$(BIN)/pybabel update --no-wrap -i console/translations/console.pot -d console/translations -D console -l $$locale; \
	done

# the demo portfolio and its logins first (`loanline demo` is idempotent and prints the logins), then everything
run: install pdf-deps
	$(BIN)/loanline demo
	$(BIN)/loanline run --host $(HOST) --port $(PORT)

# Debian's chromium for the browser tests (tests/browser, docs/testing-browser.md), installed when missing and
# when this user may (root, or sudo without a password); otherwise those tests skip and say why.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi; \
		if [ "$$sudo" = none ]; then \
			echo "browser-deps: /usr/bin/chromium is missing and apt-get needs root: the browser tests will skip"; \
		else \
			echo "browser-deps: installing chromium"; \
			$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
			{ $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
			  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
			echo "browser-deps: could not install chromium: the browser tests will skip"; \
		fi; \
	fi
	@# axe-core (npm) for the accessibility test (tests/browser/test_accessibility_in_browser.py), kept with the
	@# test artifacts; without npm the accessibility test skips and says so
	@if [ ! -f $(AXE) ]; then \
		if command -v npm >/dev/null 2>&1; then \
			npm install --silent --no-audit --no-fund --prefix test-artifacts/node axe-core@4 >/dev/null || \
			echo "browser-deps: could not install axe-core: the accessibility test will skip"; \
		else \
			echo "browser-deps: no npm: the accessibility test will skip (apt-get install npm)"; \
		fi; \
	fi

# Debian's Pango (WeasyPrint lays out the statements, notices and letters with it), the Noto fonts of every
# script the borrowers write (Latin, Devanagari, Arabic, CJK) and poppler's pdftoppm (the tests' page images),
# installed like chromium: when missing and when this user may; docs/documents.md.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core fonts-noto-cjk poppler-utils

pdf-deps:
	@if ! dpkg -s $(PDF_PACKAGES) >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi; \
		if [ "$$sudo" = none ]; then \
			echo "pdf-deps: $(PDF_PACKAGES) are missing and apt-get needs root: documents cannot be rendered"; \
		else \
			echo "pdf-deps: installing $(PDF_PACKAGES)"; \
			$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES) >/dev/null 2>&1 || \
			{ $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
			  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES) >/dev/null; } || \
			echo "pdf-deps: could not install $(PDF_PACKAGES)"; \
		fi; \
	fi

# `wrk` drives the SMS webhook benchmark (bench/webhook.py), installed like chromium: when missing and when this
# user may; otherwise bench/run_all.py skips that benchmark and says how to install it.
bench-deps:
	@if ! command -v wrk >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi; \
		if [ "$$sudo" = none ]; then \
			echo "bench-deps: wrk is missing and apt-get needs root: the webhook benchmark will skip"; \
		else \
			echo "bench-deps: installing wrk"; \
			$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || \
			{ $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
			  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || \
			echo "bench-deps: could not install wrk: the webhook benchmark will skip"; \
		fi; \
	fi

# pytest-xdist processes for `make test` and `make test-postgres`: `auto` is one per core, 0 runs in this process.
# Tests marked `xdist_group` (the browser tests: one server, one chromium) stay together on one worker.
TEST_WORKERS ?= auto
PYTEST_WORKERS = -n $(TEST_WORKERS) --dist loadgroup

test: install browser-deps pdf-deps
	$(BIN)/pytest -q $(PYTEST_WORKERS)

test-postgres: install pdf-deps
	LOANLINE_TEST_DATABASE_URL=$(POSTGRES_TEST_URL) $(BIN)/pytest -q -m postgres $(PYTEST_WORKERS)

lint: install
	$(BIN)/ruff check servicing bot console loanline tests bench
	$(BIN)/ruff format --check servicing bot console loanline tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format servicing bot console loanline tests bench
	$(BIN)/ruff check --fix servicing bot console loanline tests bench

bench: install bench-deps
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
