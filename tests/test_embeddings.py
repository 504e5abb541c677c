"""The ONNX backend must give the torch backend's vectors; its export is made once and reused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rag import RAG, Settings
from rag.embeddings import Embedder, resolve_model_path
from rag.errors import ConfigError
from rag.ingest.pipeline import build_document
from rag.ingest.chunk import embedding_text
from rag.ingest.readers import parse

from .conftest import ARTICLES

QUESTIONS = [
    "How long did Trump's phone call with Putin last?",
    "Who hosted the discussions in Washington?",
    "What is the capital of Mongolia?",
]


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return Embedder(backend="torch")


@pytest.fixture(scope="module")
def corpus_texts(embedder) -> list[str]:
    """Exactly what ingest embeds for the sample corpus: title line + chunk text."""
    texts = []
    for path in sorted(ARTICLES.glob("*.txt")):
        doc, chunks = build_document(parse(path, path.read_bytes()), embedder, Settings(_env_file=None))
        texts += [embedding_text(doc.title, c.text, embedder, embedder.max_tokens) for c in chunks]
    return texts


def _cosines(a: list[list[float]], b: list[list[float]]) -> np.ndarray:
    x, y = np.asarray(a), np.asarray(b)
    return (x * y).sum(axis=1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))


def test_onnx_vectors_match_torch_on_the_sample_corpus(embedder, torch_embedder, corpus_texts):
    assert embedder.backend == "onnx" and torch_embedder.backend == "torch"
    assert embedder.name == torch_embedder.name and embedder.dim == torch_embedder.dim == 384
    assert len(corpus_texts) >= 30
    onnx, torch = embedder.embed_texts(corpus_texts), torch_embedder.embed_texts(corpus_texts)
    cos = _cosines(onnx, torch)
    assert cos.min() >= 0.9999, f"worst chunk cosine {cos.min():.6f}"
    norms = np.linalg.norm(np.asarray(onnx), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)
    queries = _cosines([embedder.embed_query(q) for q in QUESTIONS],
                       [torch_embedder.embed_query(q) for q in QUESTIONS])
    assert queries.min() >= 0.9999


def test_batching_by_length_keeps_input_order(embedder, corpus_texts):
    texts = corpus_texts[:40]
    together = embedder.embed_texts(texts)
    alone = [embedder.embed_query(t) for t in texts]
    assert _cosines(together, alone).min() >= 0.9999


def test_over_long_text_is_truncated_to_the_window_like_torch(embedder, torch_embedder):
    text = "The council met again on Tuesday to argue about the bridge. " * 200
    assert embedder.count_tokens(text) > 2 * embedder.max_tokens
    cos = _cosines(embedder.embed_texts([text]), torch_embedder.embed_texts([text]))
    assert cos[0] >= 0.9999


def test_export_is_made_once_and_redone_when_stale(tmp_path, embedder):
    cache = tmp_path / "models"
    first = Embedder(cache_dir=cache)
    onnx_file = cache / "all-MiniLM-L6-v2" / "model.onnx"
    stamp = onnx_file.parent / "stamp.json"
    made = onnx_file.stat().st_mtime_ns
    Embedder(cache_dir=cache)
    assert onnx_file.stat().st_mtime_ns == made  # reused, not exported again
    stamp.write_text(json.dumps({"format": 0}))
    again = Embedder(cache_dir=cache)
    assert onnx_file.stat().st_mtime_ns != made
    assert json.loads(stamp.read_text())["format"] >= 1
    assert _cosines([first.embed_query("bridge vote")], [again.embed_query("bridge vote")])[0] >= 0.9999
    assert sorted(p.name for p in onnx_file.parent.iterdir()) == ["model.onnx", "stamp.json"]  # no temp left


def test_a_model_without_mean_pooling_falls_back_to_torch(tmp_path, caplog):
    folder = tmp_path / "cls-model"
    shutil.copytree(resolve_model_path("all-MiniLM-L6-v2"), folder)
    config = folder / "1_Pooling" / "config.json"
    data = json.loads(config.read_text())
    data.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    config.write_text(json.dumps(data))
    emb = Embedder(str(folder), cache_dir=tmp_path / "models")
    assert emb.backend == "torch"
    assert not (tmp_path / "models").exists()
    assert "torch backend" in caplog.text


def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="RAG_EMBED_BACKEND"):
        Embedder(backend="tpu")  # type: ignore[arg-type]


def test_rag_exports_into_its_data_dir_and_int8_is_a_different_model(tmp_path, embedder):
    rag = RAG(Settings(_env_file=None, data_dir=tmp_path / "idx", embed_backend="onnx-int8"))
    assert rag.embedder.name == "all-MiniLM-L6-v2+int8" and rag.embedder.backend == "onnx-int8"
    assert (tmp_path / "idx" / "models" / "all-MiniLM-L6-v2-int8" / "model.onnx").exists()
    rag.ingest([ARTICLES], progress=False)
    assert rag.ask("How long did Trump's phone call with Putin last?").citations
    cos = _cosines([rag.embedder.embed_query(q) for q in QUESTIONS], [embedder.embed_query(q) for q in QUESTIONS])
    assert 0.8 < cos.mean() < 0.9999  # close, but not the fp32 vectors
    # a store built with int8 vectors refuses the fp32 model instead of mixing them
    from rag.errors import EmbeddingMismatchError

    with pytest.raises(EmbeddingMismatchError):
        RAG(Settings(_env_file=None, data_dir=tmp_path / "idx"), embedder=embedder).retrieve("Putin")
