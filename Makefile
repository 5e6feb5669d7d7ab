# Two entry points, both from a fresh clone: `make sandbox` and `make test`.
VENV ?= .venv
STAMP := $(VENV)/.installed

$(STAMP): requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

install: $(STAMP)

sandbox: $(STAMP)  ## start the embedded sandbox (no keys, no network) and print its URLs
	$(VENV)/bin/harness sandbox up

lint: $(STAMP)
	$(VENV)/bin/ruff check harness tests bench
	$(VENV)/bin/mypy

test: $(STAMP) lint  ## lint, type-check and run the whole test suite
	$(VENV)/bin/pytest -n 2

bench: $(STAMP)
	$(VENV)/bin/python bench/bench_rest.py

.PHONY: install sandbox lint test bench
