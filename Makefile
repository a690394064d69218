# The handful of commands people run. Each creates .venv when it is missing and installs into it
# from the lock, every package at its pinned version with its hashes checked (`make lock`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements-test.lock
# Test processes: one more than the cores, since the tests that start `apec-bot` processes spend
# much of their time waiting on them (`make test WORKERS=1` for one).
WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))

.PHONY: run starting-console test bench lint lock clean

$(BIN)/python:
	@echo "make: creating $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV)

# pip's output is shown when it fails: on success it is only the build backend's warnings.
$(BIN)/apec-bot: $(BIN)/python $(LOCK) pyproject.toml
	@echo "make: installing from $(LOCK) into $(VENV) (first run: about a minute)"
	@out=$$($(BIN)/pip install -q --require-hashes -r $(LOCK) 2>&1) || { echo "$$out"; exit 1; }
	@out=$$($(BIN)/pip install -q --no-deps -e . 2>&1) || { echo "$$out"; exit 1; }
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check; echo "make: $(LOCK) is behind pyproject.toml: make lock"; exit 1; }
	@touch $@

## run: install and start the bot on its embedded default (console adapter, SQLite, no Slack)
run: $(BIN)/apec-bot starting-console
	@$(BIN)/apec-bot shell

starting-console:  # a line of its own: tests/test_readme.py reads run's recipe as the shell alone
	@echo "make: starting the bot on the console (no Slack; Ctrl-D to leave)"

## test: install the test dependencies and run the whole suite, a process per core and one more (pytest-xdist)
test: $(BIN)/apec-bot
	@echo "make: running the whole suite in $(WORKERS) processes"
	@$(BIN)/python -m pytest -n $(WORKERS)

## lock: pin every dependency in pyproject.toml with its hashes, for Linux x86-64 and Python 3.11
## (CI, the image): requirements-test.lock (runtime and test, for make) and requirements.lock
## (runtime only, for deploy/Dockerfile, at the same versions). Pins already there are kept;
## `make lock UPGRADE=--upgrade` takes the newest releases pyproject.toml allows.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu --custom-compile-command 'make lock'
lock: $(BIN)/python
	@echo "make: resolving pyproject.toml into $(LOCK) and requirements.lock (uv)"
	@$(BIN)/pip install -q uv==0.13.8
	@$(UV_COMPILE) --extra test $(UPGRADE) -o $(LOCK)
	@$(UV_COMPILE) -c $(LOCK) -o requirements.lock

bench: $(BIN)/apec-bot
	$(BIN)/python bench/store_bench.py
	$(BIN)/python bench/load_bench.py
	$(BIN)/python bench/schedule_bench.py
	$(BIN)/python bench/edit_bench.py
	$(BIN)/python bench/names_bench.py
	$(BIN)/python bench/reader_bench.py
	$(BIN)/python bench/timeline_bench.py
	$(BIN)/pip install -q -e '.[bench]' && $(BIN)/python bench/server_bench.py

lint: $(BIN)/apec-bot
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/mypy

## clean: remove the venv and the caches (bytecode, pytest, hypothesis, ruff, build); never a store (*.db)
clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
