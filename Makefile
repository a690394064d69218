# The handful of commands people run. Each creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench lint clean

$(BIN)/apec-bot: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

## run: install and start the bot on its embedded default (console adapter, SQLite, no Slack)
run: $(BIN)/apec-bot
	$(BIN)/apec-bot shell

## test: install the test dependencies and run the whole suite, a process per core (pytest-xdist)
test: $(BIN)/apec-bot
	$(BIN)/python -m pytest -n auto

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

clean:
	rm -rf $(VENV) apec.db apec.db-wal apec.db-shm
