# Two entry points, both from a fresh clone: `make run` and `make test`.
VENV ?= .venv
STAMP := $(VENV)/.installed

$(STAMP): requirements.lock pyproject.toml
	@echo "creating $(VENV) from requirements.lock (a few minutes on a fresh machine; pip shows each package)"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check --progress-bar off -r requirements.lock
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	@echo "$(VENV) is ready"
	touch $@

install: $(STAMP)

run: $(STAMP)  ## the main job: every scenario x framework x path on the embedded sandbox; ends with the report's path
	$(VENV)/bin/harness run

nightly: $(STAMP)  ## the full matrix with negative controls, reported against the previous run (reports/index.html)
	$(VENV)/bin/harness nightly

sandbox: $(STAMP)  ## start the embedded sandbox (no keys, no network) and print its URLs
	$(VENV)/bin/harness sandbox up

lint: $(STAMP)  ## ruff (check and format) and mypy
	$(VENV)/bin/ruff check harness sandbox yamlio tests bench
	$(VENV)/bin/ruff format --check harness sandbox yamlio tests bench
	$(VENV)/bin/mypy

test: $(STAMP) lint  ## lint, type-check and run the default test suite (minutes)
	$(VENV)/bin/pytest -n 2

test-slow: $(STAMP)  ## the slow end-to-end tests left out of the default suite (marker slow; several minutes more)
	$(VENV)/bin/pytest -n 2 -m slow

lab: $(STAMP)  ## open JupyterLab on notebooks/ with this environment's kernel (report.ipynb, explore.ipynb)
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

help:  ## this list
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## /  make \1\t/'

bench: $(STAMP)  ## the performance benchmarks (results in bench/results/)
	$(VENV)/bin/python -m bench.bench_rest
	$(VENV)/bin/python -m bench.bench_mcp
	$(VENV)/bin/python -m bench.bench_model
	$(VENV)/bin/python -m bench.bench_harness
	$(VENV)/bin/python -m bench.bench_report
	$(VENV)/bin/python -m bench.bench_replay
	$(VENV)/bin/python -m bench.bench_branches
	$(VENV)/bin/python -m bench.bench_load
	$(VENV)/bin/python -m bench.bench_scale

.PHONY: install run nightly sandbox lint test test-slow bench lab help
