"""A long article's chunks are written in batches Chroma accepts: one call took at most ~5,461 records, so a
16 MB upload (12,001 chunks) failed after embedding it all."""

from __future__ import annotations

import numpy as np

from rag.store import Store
from rag.types import Chunk, Document, Span

N = 6_000  # over Chroma's max_batch_size of 5,461


def test_an_article_of_more_chunks_than_chroma_takes_at_once_is_stored_whole(tmp_path):
    store = Store(tmp_path / "index", "articles", "test-model", 8, create=True)
    doc = Document(doc_id="d1", source=str(tmp_path / "long.txt"), file_name="long.txt", title="Long",
                   content_hash="0" * 64, kind="text", n_chars=N * 10)
    chunks = [Chunk(chunk_id=f"d1-{i}", doc_id="d1", ordinal=i, text=f"word{i} text", start=i * 10,
                    end=i * 10 + 9, spans=[Span(chunk_start=0, source_start=i * 10, length=9)], n_tokens=3)
              for i in range(N)]
    vectors = np.random.default_rng(0).random((N, 8)).astype(np.float32)
    store.begin_write()
    store.add(doc, chunks, vectors.tolist(), "fp", n_chunks=N)
    store.refresh(doc, chunks, "fp2", n_chunks=N)
    assert store.count() == N
    assert store.sync_bm25().count == N
