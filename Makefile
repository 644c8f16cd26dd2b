# gapkit — common tasks. `make demo` and `make test` are the README's two commands.
# Everything runs in a project virtual environment (.venv): distributions that mark the system Python
# as externally managed refuse `pip install` into it. PYTHON is the interpreter that creates it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared
REPORTS ?= reports

.PHONY: install deps-system demo test lint refresh bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

install: $(PY)
	$(PY) -m pip install -q -e '.[dev]'

# The main job: ingest every source (from ../shared when present, else the agencies' live URLs),
# then the transportation gap.
demo: install
	@if [ -d "$(SHARED)/data" ]; then \
		echo "Using local agency files in $(SHARED) (offline)"; \
		$(PY) -m gapkit ingest --offline --from "$(SHARED)"; \
	else \
		$(PY) -m gapkit ingest; \
	fi
	$(PY) -m gapkit sources
	$(PY) -m gapkit gap --sector transportation --by subsector

# System packages the tests need: headless Chromium opens the HTML briefs (tests/test_report.py).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
deps-system:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)

test: install deps-system
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

# For cron: re-ingest everything (unchanged upstream files are skipped); non-zero exit on failure.
refresh: install
	@if [ -d "$(SHARED)/data" ]; then \
		$(PY) -m gapkit.cli.refresh --offline --from "$(SHARED)"; \
	else \
		$(PY) -m gapkit.cli.refresh; \
	fi

# Speed ratios (benchmarks/run_all.py): gapkit vs import polars and vs the DuckDB SQL reference, report
# timings, scale (50x completions, 3,000 regions). `make bench DATA=folder` runs on an ingested data folder.
bench: install
	$(PY) benchmarks/run_all.py $(if $(DATA),--data-dir "$(DATA)")

clean:
	rm -rf data/processed/* data/raw/* data/manifest.json
