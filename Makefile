# Two commands on a fresh machine: `make run` and `make test`. Both create .venv as needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint check migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/coach content check
	$(BIN)/coach migrate
	$(BIN)/coach run

# A terminal chat with the coach against an in-process Telegram: no token, no network.
demo: $(STAMP)
	$(BIN)/coach demo --language $(LANGUAGE)

test: $(STAMP)
	$(BIN)/coach content check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check bot tests benchmarks

check: lint test

migrate: $(STAMP)
	$(BIN)/coach migrate

clean:
	rm -rf $(VENV) .pytest_cache coach.db coach.db-wal coach.db-shm
