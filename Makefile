# Two entry points on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench clean system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs into the venv with uv (from PyPI): on a clean clone it takes about 11 s where pip
# took about 40 s (upgrading pip, then resolving and unpacking one package at a time). uv
# compiles the bytecode as pip does, or every process would compile textual and SQLAlchemy
# again when PYTHONDONTWRITEBYTECODE is set. Where uv cannot be had, pip does the same install.
INSTALL = $(BIN)/python -m pip install --quiet uv \
	&& $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python $(1) \
	|| $(BIN)/python -m pip install --quiet $(1)

# The runtime install, for the demo.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(call INSTALL,-e .)
	touch $@

# The runtime plus the dev extras, for the tests.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(call INSTALL,-e '.[dev]')
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/cursor-tracker demo

# The tests need three programs from Debian: PostgreSQL's server binaries (the suite starts its
# own throw-away server from them), tmux (the console is driven in a real terminal) and
# chromium (the dashboard is driven in a real browser; Playwright cannot fetch its own here).
system-packages:
	@missing=""; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="postgresql"; \
	  command -v tmux >/dev/null 2>&1 || missing="$$missing tmux"; \
	  test -x /usr/bin/chromium || missing="$$missing chromium"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	    else echo "missing Debian packages:$$missing (install them, then run make test again)"; exit 1; fi; \
	  fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# Four workers on two cores: much of the suite waits on real subprocesses, servers, a
# browser and PostgreSQL rather than computing, so extra workers fill the waits (measured on
# this 2-core machine: 3 workers 7.2 min, 4 workers 6.0 min, 6 workers 6.7 min).
unit: $(VENV)/.installed-dev system-packages
	$(BIN)/pytest -n 4 -q

test: lint typecheck unit

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/collect.py
	$(BIN)/python bench/detect.py
	$(BIN)/python bench/tui_start.py
	$(BIN)/python bench/daemon.py
	$(BIN)/python bench/alert_noise.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
