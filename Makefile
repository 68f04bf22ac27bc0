# FilmStudio: `make run` starts the studio on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test gen lint format check-gen bench clean up down status

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/filmstudio run

test: $(STAMP)
	$(BIN)/python -m pytest

# The production shape on this machine under supervisord (see README, "Production shape").
up: $(STAMP)
	$(BIN)/python -m services.topology up

down: $(STAMP)
	$(BIN)/python -m services.topology down

status: $(STAMP)
	$(BIN)/python -m services.topology status

gen: $(STAMP)
	rm -rf gen/filmstudio
	$(BIN)/buf generate
	touch gen/filmstudio/__init__.py gen/filmstudio/v1/__init__.py

check-gen: gen
	git diff --exit-code -- gen
	test -z "$$(git status --porcelain -- gen)"

lint: $(STAMP)
	$(BIN)/buf lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	@for b in bench/*.py; do [ -e "$$b" ] || continue; echo "== $$b"; $(BIN)/python "$$b" || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
