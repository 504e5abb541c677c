"""What the speed work must not break: vectors stay with their chunks, BM25 stays current, interrupts stay safe."""

from __future__ import annotations

import threading
import time

import bm25s
import numpy as np
import pytest

from rag import RAG
from rag import indexer
from rag.ingest.chunk import embedding_text
from rag.store import BM25Index, Row
from rag.text import terms



def test_each_stored_vector_is_its_own_chunks_embedding(corpus_rag, embedder):
    """Chunks of several files are embedded in one batch: no vector may land on another chunk."""
    store = corpus_rag._open_store()
    got = store._col.get(include=["embeddings", "documents", "metadatas"])
    assert len(got["ids"]) >= 30 and len({m["doc_id"] for m in got["metadatas"]}) == 5
    texts = [embedding_text(m["title"], d, embedder, embedder.max_tokens, m["n_tokens"])
             for d, m in zip(got["documents"], got["metadatas"])]
    expected = np.asarray([embedder.embed_query(t) for t in texts])  # one at a time: no batching involved
    stored = np.asarray(got["embeddings"])
    cos = (expected * stored).sum(axis=1)
    assert cos.min() >= 0.9999


def test_bm25_search_matches_bm25s_retrieve_with_and_without_a_mask():
    texts = [f"river bridge council vote {i}" if i % 3 else f"bridge toll {i} bridge" for i in range(40)]
    rows = [Row(f"c{i}", f"d{i % 4}", f"/s{i % 4}", f"f{i % 4}.txt", -1) for i in range(40)]
    index = BM25Index.build(texts, rows)
    reference = bm25s.BM25()
    reference.index([terms(t) for t in texts], show_progress=False)
    for k in (1, 5, 40, 100):
        docs, scores = reference.retrieve([terms("bridge toll")], k=min(k, 40), show_progress=False)
        want = [(f"c{d}", round(float(s), 5)) for d, s in zip(docs[0], scores[0]) if s > 0]
        got = [(cid, round(s, 5)) for cid, s in index.search("bridge toll", k)]
        assert [s for _, s in got] == sorted((s for _, s in want), reverse=True)  # same scores, best first
        cut = got[-1][1]  # at the cut-off score ties may be broken differently; above it the ids must agree
        assert {c for c, s in got if s > cut} == {c for c, s in want if s > cut}
    only = index.search("bridge toll", 40, allowed={"d1"})
    assert only and {rows[int(cid[1:])].doc_id for cid, _ in only} == {"d1"}
    assert index.search("bridge", 5) == index.search("bridge", 5)  # ties come out in a fixed order


def test_another_instance_sees_a_same_count_update_at_once(make_rag, articles_copy, embedder):
    """The side index must follow Chroma even when a change keeps the chunk count (a correction)."""
    writer = make_rag()
    writer.ingest([articles_copy], progress=False)
    reader = RAG(writer.settings, embedder=embedder)
    assert reader.retrieve("Putin phone call")
    before = reader._open_store().bm25()
    target = articles_copy / "001_6455e6dab78b474c.txt"
    target.write_text(target.read_text().replace("40-minute", "forty-minute zorbfish"))
    report = writer.ingest([articles_copy], progress=False)
    assert report.updated == 1 and report.chunks_total == before.count  # same number of chunks
    found = reader.retrieve("zorbfish", top_k=3)  # no waiting: the next question sees it
    assert found and "zorbfish" in found[0].text
    assert reader._open_store().bm25() is not before


def test_own_removal_is_seen_by_the_next_question(make_rag, articles_copy):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    assert any(p.file_name == "001_6455e6dab78b474c.txt" for p in rag.retrieve("Putin phone call 40-minute"))
    rag.remove(["001_6455e6dab78b474c.txt"])
    assert all(p.file_name != "001_6455e6dab78b474c.txt" for p in rag.retrieve("Putin phone call 40-minute"))


def test_a_title_change_re_embeds_kept_chunks(make_rag, tmp_path, embedder):
    folder = tmp_path / "news"
    folder.mkdir()
    body = "\n\n".join(f"The harbour board met for the {n}th time to discuss dredging the channel." for n in range(30))
    page = folder / "harbour.html"
    page.write_text(f"<html><head><title>Harbour board meets</title></head><body><p>{body}</p></body></html>")
    rag = make_rag()
    rag.ingest([folder], progress=False)
    page.write_text(f"<html><head><title>Volcano erupts</title></head><body><p>{body}</p></body></html>")
    report = rag.ingest([folder], progress=False)
    assert report.updated == 1
    got = rag._open_store()._col.get(include=["embeddings", "documents", "metadatas"])
    assert {m["title"] for m in got["metadatas"]} == {"Volcano erupts"}
    for vector, text, meta in zip(got["embeddings"], got["documents"], got["metadatas"]):
        want = embedder.embed_query(embedding_text(meta["title"], text, embedder, embedder.max_tokens, meta["n_tokens"]))
        assert float(np.dot(vector, want)) >= 0.9999


def test_an_interrupt_waits_for_the_writer_before_the_side_index_is_synced(make_rag, articles_copy, monkeypatch):
    monkeypatch.setattr(indexer, "_EMBED_TOGETHER", 1)  # one file per batch, so a batch is in flight
    rag = make_rag()
    slow = rag.embedder.embed_texts

    def embed_slowly(texts):
        time.sleep(0.3)
        return slow(texts)

    monkeypatch.setattr(rag.embedder, "embed_texts", embed_slowly)
    seen = []

    def interrupt_on_third(path):
        seen.append(path)
        if len(seen) == 3:
            raise KeyboardInterrupt

    store = rag._open_store(create=True)
    with pytest.raises(KeyboardInterrupt):
        indexer.ingest([articles_copy], store, rag.embedder, rag.settings, progress=False, on_file=interrupt_on_third)
    assert not any(t.name.startswith("rag-ingest-writer") for t in threading.enumerate())
    assert store.bm25().count == store.count() > 0  # synced after the last write, not during it
    report = RAG(rag.settings, embedder=rag.embedder).ingest([articles_copy], progress=False)
    assert report.added + report.unchanged == 5 and report.chunks_total == store.count()


def test_winning_passages_come_from_the_side_copy_and_match_chroma(make_rag, articles_copy, monkeypatch):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    store = rag._open_store()
    asked = []
    real_get = store.get
    monkeypatch.setattr(store, "get", lambda ids: asked.append(list(ids)) or real_get(ids))
    passages = rag.retrieve("How long did Trump's phone call with Putin last?")
    assert passages and all(not ids for ids in asked)  # no Chroma round trip for texts
    truth = {h.chunk_id: h for h in real_get([p.chunk_id for p in passages])}
    for p in passages:
        assert p.text == truth[p.chunk_id].text and p.start == truth[p.chunk_id].meta["start"]
    # a side index without the copy (an older one) still answers, from Chroma
    (rag.settings.data_dir / "bm25" / "chunks.jsonl").unlink()
    again = make_rag()
    assert [p.chunk_id for p in again.retrieve("How long did Trump's phone call with Putin last?")] == \
        [p.chunk_id for p in passages]
