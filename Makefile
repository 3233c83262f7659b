# Arena developer commands. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-all lint check proto proto-check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[agent,controller,parquet,postgres]' --group dev
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## controller + dashboard + agent + simulated engine, arena-v1 quick, agentic cache on/off, results, report
	$(BIN)/python scripts/demo.py

test: $(STAMP)  ## fast tests (no separate processes or real engines)
	$(BIN)/pytest -m "not slow" -q --durations=10

test-all: $(STAMP)  ## everything CI runs, slow end-to-end tests included
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

check: lint proto-check  ## what CI gates on: formatting, lint, generated code, types, layers
	$(BIN)/mypy shared/arena controller/arena agent/arena tests bench
	$(BIN)/lint-imports
	! git grep -n --untracked "fmt: \(skip\|off\)" -- '*.py' \
	  || (echo "the formatter decides the layout: drop the fmt comments above" && exit 1)

proto: $(STAMP)  ## regenerate shared/arena/common/pb from proto/
	$(BIN)/python scripts/gen_protos.py

proto-check: proto  ## fail when the committed generated code is stale
	git diff --exit-code -- shared/arena/common/pb || (echo "shared/arena/common/pb is stale: run make proto and commit" && exit 1)
	test -z "$$(git status --porcelain -- shared/arena/common/pb)" || (echo "shared/arena/common/pb has untracked files: run make proto and commit" && exit 1)

clean:
	rm -rf $(VENV) .arena .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache
