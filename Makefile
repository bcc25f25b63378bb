# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck browser bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(STAMP)

# eight routing policies compared on a synthetic team (one to four minutes on two cores): terminal table + report
demo: $(STAMP)
	$(BIN)/leadrouter compare --demo --out demo-report
	@echo "Open demo-report/report.html in a browser (or read demo-report/report.md)."

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Chromium and a Chinese font, for tests/test_report_browser.py (the report as a browser shows
# it): apt-get as root or with sudo; quick when present; says why when it cannot (the test skips)
browser:
	@.ci/install-browser

# .ci/postgres: a throwaway PostgreSQL for the SQL-ledger tests (unless LEADROUTER_TEST_PG names
# one), stopped when pytest ends; the PostgreSQL tests skip with the reason when it cannot start
test: lint typecheck browser
	.ci/postgres $(BIN)/python -m pytest

# the speed benchmarks in one table, each figure beside its baseline and aim (bench.json keeps the
# rows); PostgreSQL store figures need the throwaway server; then the two honesty studies
bench: $(STAMP)
	.ci/postgres $(BIN)/python benchmarks/run_all.py --json bench.json
	$(BIN)/python benchmarks/bench_coverage.py --json coverage.json
	$(BIN)/python benchmarks/bench_evaluate.py --json evaluate-coverage.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
