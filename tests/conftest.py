"""Shared fixtures: one real embedding model, one real Chroma index of the sample corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# In CI the property tests replay the same examples every run (a failure there reproduces); locally they explore.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

from rag import RAG, Settings
from rag.embeddings import Embedder

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "data" / "articles"
CALL_FILE = "001_6455e6dab78b474c.txt"


@pytest.fixture(scope="session", autouse=True)
def gradio_cache(tmp_path_factory) -> Path:
    """Gradio's upload cache for the session: pages built here sweep it on start (``ui.cache``), and must not
    sweep the machine's shared ``<temp>/gradio``. A test may point GRADIO_TEMP_DIR elsewhere for itself."""
    folder = tmp_path_factory.mktemp("gradio_cache")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GRADIO_TEMP_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """Where the session's ONNX export lives; copy it into RAG_DATA_DIR/models to spare a subprocess the export."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def embedder(model_cache) -> Embedder:
    """The default (ONNX) backend, exported once per test session into a temp folder."""
    return Embedder(cache_dir=model_cache)


@pytest.fixture(scope="session")
def corpus_rag(embedder, tmp_path_factory) -> RAG:
    """The sample corpus indexed once; tests must not modify it."""
    rag = RAG(Settings(data_dir=tmp_path_factory.mktemp("corpus_index")), embedder=embedder)
    rag.ingest([ARTICLES], progress=False)
    return rag


@pytest.fixture
def make_rag(embedder, tmp_path):
    """A RAG with its own empty index folder, sharing the loaded model."""
    def make(**overrides) -> RAG:
        overrides.setdefault("data_dir", tmp_path / "index")
        return RAG(Settings(**overrides), embedder=embedder)
    return make


@pytest.fixture
def articles_copy(tmp_path) -> Path:
    """A private copy of the sample corpus that a test may change."""
    target = tmp_path / "articles"
    shutil.copytree(ARTICLES, target)
    return target


@pytest.fixture
def fake_llm():
    """A real OpenAI-compatible HTTP server on loopback; queue replies per test."""
    from tests.fixtures.openai_server import FakeOpenAI

    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def site():
    """A real web site on loopback whose routes a test registers (``tests/fixtures/web_server.py``)."""
    from tests.fixtures.web_server import WebSite

    with WebSite() as server:
        yield server


@pytest.fixture
def llm_rag(corpus_rag, embedder, fake_llm):
    """LLM mode over the indexed sample corpus, pointed at ``fake_llm``; retries off unless asked."""
    def make(**overrides) -> RAG:
        values = dict(data_dir=corpus_rag.settings.data_dir, llm="openai", openai_base_url=fake_llm.url,
                      openai_api_key="test-key", llm_model="fake-model", llm_retries=0, llm_timeout=5.0)
        values.update(overrides)
        return RAG(Settings(**values), embedder=embedder)
    return make
