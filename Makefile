# Two set-up commands: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: install run test eval bench ingest clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first, pinned: it is a local CPU wheel; unpinned, pip pulls gigabytes of CUDA packages.
$(STAMP): $(PY) pyproject.toml
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

ingest: install
	$(VENV)/bin/rag ingest data/articles

# Index the sample corpus, then serve the chat page on http://127.0.0.1:7860 (Ctrl+C stops it).
run: ingest
	$(VENV)/bin/rag-ui

# The tests, then the news eval against its committed baseline: a quality regression fails `make test`.
test: install
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory eval

EVAL_OUT ?= eval-out/news
eval: install
	$(VENV)/bin/rag-eval run --dataset news --baseline eval/baselines/news.json --out $(EVAL_OUT) --quiet

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .rag eval-out
