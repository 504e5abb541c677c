# Two set-up commands: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
TORCH_VERSION := 2.13.0

.PHONY: install run test eval bench ingest clean

# Each step says what it does, and pip runs without --quiet: on a fresh machine the install takes
# minutes, and pip's lines and progress bars show that it is moving.
$(PY):
	@echo "==> creating $(VENV) (a Python virtual environment, with $(PYTHON))"
	$(PYTHON) -m venv $(VENV)
	@echo "==> upgrading pip in $(VENV)"
	$(PIP) install --upgrade pip

# torch first, pinned: it is a local CPU wheel; unpinned, pip pulls gigabytes of CUDA packages.
$(STAMP): $(PY) pyproject.toml
	@echo "==> installing torch $(TORCH_VERSION) (CPU)"
	$(PIP) install torch==$(TORCH_VERSION)
	@echo "==> installing newsrag and its dependencies (a few minutes on a fresh machine)"
	$(PIP) install -e ".[dev]"
	touch $(STAMP)
	@echo "==> installed into $(VENV)"

install: $(STAMP)

ingest: install
	@echo "==> indexing data/articles (unchanged files are skipped)"
	$(VENV)/bin/rag ingest data/articles

# Index the sample corpus, then serve the chat page on http://127.0.0.1:7860 (Ctrl+C stops it).
# A port already in use ends it with one line naming --port / RAG_UI_PORT (e.g. `RAG_UI_PORT=8000 make run`).
run: ingest
	@echo "==> serving the chat page (Ctrl+C stops it)"
	$(VENV)/bin/rag-ui

# The tests, then the news, chat and temporal (answers as of a date) evals against their committed baselines: a quality regression fails `make test`.
test: install
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory eval

EVAL_OUT ?= eval-out
eval: install
	$(VENV)/bin/rag-eval run --dataset news --baseline eval/baselines/news.json --out $(EVAL_OUT)/news --quiet
	$(VENV)/bin/rag-eval run --dataset chat --baseline eval/baselines/chat.json --out $(EVAL_OUT)/chat --quiet
	$(VENV)/bin/rag-eval run --dataset temporal --baseline eval/baselines/temporal.json --out $(EVAL_OUT)/temporal --quiet

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .rag eval-out
