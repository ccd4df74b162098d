# Kenning: the two commands that matter are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= .data/demo
SHARED ?= ../shared/data
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install run test lint typecheck unit bench bench-retrieval bench-embedding bench-latency clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: install, ingest the sample company documents, then search them
run: install
	$(BIN)/kenning --data-dir $(DATA_DIR) ingest examples/
	$(BIN)/kenning --data-dir $(DATA_DIR) search "How many vacation days do employees get?" -k 3
	$(BIN)/kenning --data-dir $(DATA_DIR) search "What does error E04 mean on the HX-200?" -k 3

## test: install, lint, type-check and run the whole test suite
test: install lint typecheck unit

lint: install
	$(BIN)/ruff check src tests bench scripts

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

## Benchmarks (not part of CI; results land in bench/results/)
bench: bench-embedding bench-retrieval bench-latency

bench-retrieval: install
	$(BIN)/kenning --data-dir bench/.cache/scifact eval retrieval --beir $(SHARED)/beir/scifact

bench-embedding: install
	$(BIN)/python bench/embedding_throughput.py

bench-latency: install
	$(BIN)/python bench/query_latency.py

clean:
	rm -rf $(VENV) .data bench/.cache .pytest_cache .mypy_cache .ruff_cache
