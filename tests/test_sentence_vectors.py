"""Sentence vectors encoded at ingest and read back by the extractive answerer (``rag.sentence_vectors``)."""

from __future__ import annotations

import logging
import sqlite3

import numpy as np
import pytest

from rag.answer.extractive import sentence_texts
from rag.sentence_vectors import FILE_NAME, SentenceVectors

QUESTIONS = [
    "What did Lavrov say about the peace talks?",
    "Who is paying for them?",
    "How long did the meeting last?",
    "What did Trump say about his role in the talks?",
]


def _stored(data_dir) -> int:
    with sqlite3.connect(data_dir / FILE_NAME) as db:
        return db.execute("SELECT count(*) FROM vectors").fetchone()[0]


def _refuse_encoding(monkeypatch, embedder) -> None:
    def refuse(texts):
        raise AssertionError(f"encoded {len(texts)} texts at question time")
    monkeypatch.setattr(embedder, "embed_texts", refuse)


def test_ingest_stores_every_quotable_sentence_so_answers_encode_none(make_rag, articles_copy, embedder,
                                                                     monkeypatch):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    quotable = {t for p in rag.passages() for t in sentence_texts([p])}
    assert _stored(rag.settings.data_dir) == len(quotable) > 50
    _refuse_encoding(monkeypatch, embedder)  # question vectors come from embed_query, sentences from the file
    for q in QUESTIONS:
        rag.ask(q)


def test_stored_vectors_are_the_models_vectors(corpus_rag, embedder, monkeypatch):
    texts = sentence_texts(corpus_rag.passages()[:4])
    fresh = np.asarray(embedder.embed_texts(texts), dtype=np.float32)
    _refuse_encoding(monkeypatch, embedder)  # read from the file, not encoded again
    stored = corpus_rag.sentences.embed(texts)
    assert stored.shape == fresh.shape == (len(texts), embedder.dim)
    assert np.allclose(stored, fresh, atol=1e-6)


def test_answers_are_the_same_with_and_without_stored_vectors(make_rag, articles_copy, tmp_path):
    stored = make_rag(data_dir=tmp_path / "stored")
    lazy = make_rag(data_dir=tmp_path / "lazy", sentence_vectors=False)
    for rag in (stored, lazy):
        rag.ingest([articles_copy], progress=False)
    assert not (tmp_path / "lazy" / FILE_NAME).exists()  # off: nothing encoded at ingest...
    for q in QUESTIONS:
        a, b = stored.ask(q), lazy.ask(q)
        assert (a.text, a.abstained, a.confidence) == (b.text, b.abstained, b.confidence), q
    assert _stored(tmp_path / "lazy") > 0  # ...and what a question needed is kept for the next one


def test_an_unchanged_reingest_encodes_no_sentence_and_rebuild_starts_clean(make_rag, articles_copy, monkeypatch):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    before = _stored(rag.settings.data_dir)
    calls = []
    monkeypatch.setattr(rag.sentences, "fill", lambda texts: calls.append(texts))
    rag.ingest([articles_copy], progress=False)
    assert calls == []  # no file changed: no batch written
    (articles_copy / "extra.txt").write_text("Extra Headline\n\nThe harbour reopened on Monday after the storm. "
                                             "Ferries resumed their routes to the islands.\n")
    rag.ingest([articles_copy], progress=False)
    assert [len(c) for c in calls] == [2]  # only the new article's two sentences
    monkeypatch.undo()
    with sqlite3.connect(rag.settings.data_dir / FILE_NAME) as db:  # a row no article needs any more
        db.execute("INSERT INTO vectors (key, vec) VALUES (?, ?)", (b"gone", b"\0" * 4 * rag.embedder.dim))
    rag.ingest([articles_copy], rebuild=True, progress=False)
    assert _stored(rag.settings.data_dir) == before + 2  # the file started afresh: the leftover row is gone


def test_an_unusable_file_costs_only_speed(embedder, tmp_path, caplog):
    (tmp_path / FILE_NAME).mkdir()  # a folder where the database should be
    vectors = SentenceVectors(tmp_path, embedder)
    with caplog.at_level(logging.WARNING, logger="rag.sentence_vectors"):
        got = vectors.embed(["The harbour reopened on Monday.", "Ferries resumed."])
        vectors.embed(["Ferries resumed."])
    assert got.shape == (2, embedder.dim)
    assert np.allclose(got, np.asarray(embedder.embed_texts(["The harbour reopened on Monday.", "Ferries resumed."])),
                       atol=1e-6)
    assert [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()] != []
    assert sum("unavailable" in r.getMessage() for r in caplog.records) == 1  # said once, not per question


def test_a_folder_it_may_not_write_is_read_as_it_is(embedder, tmp_path, monkeypatch, caplog):
    text = "The harbour reopened on Monday."
    writer = SentenceVectors(tmp_path, embedder)
    writer.embed([text])
    writer.close()  # as an ingest ends: the log is folded into the file a reader without write access sees

    def refuse_to_open(self):
        raise sqlite3.OperationalError("attempt to write a readonly database")
    monkeypatch.setattr(SentenceVectors, "_open", refuse_to_open)  # what a read-only folder does to the WAL open
    shared = SentenceVectors(tmp_path, embedder)
    _refuse_encoding(monkeypatch, embedder)
    with caplog.at_level(logging.WARNING, logger="rag.sentence_vectors"):
        got = shared.embed([text])  # stored: read without encoding
    assert got.shape == (1, embedder.dim) and "read-only" in caplog.text
    monkeypatch.undo()
    monkeypatch.setattr(SentenceVectors, "_open", refuse_to_open)
    assert shared.embed(["A sentence never stored."]).shape == (1, embedder.dim)  # encoded, not written
    assert _stored(tmp_path) == 1


def test_an_error_after_writing_costs_no_file(make_rag, articles_copy, monkeypatch):
    rag = make_rag()

    def broken(texts):
        raise ValueError("encoder failed")
    monkeypatch.setattr(rag.sentences, "fill", broken)
    report = rag.ingest([articles_copy], progress=False)
    assert report.added == len(list(articles_copy.iterdir())) and not report.skipped
    assert any("encoder failed" in w for w in report.warnings)
    monkeypatch.undo()
    assert not rag.ask("What did Lavrov say about the peace talks?").abstained  # encoded when first needed


def test_a_vector_of_another_size_is_not_trusted(embedder, tmp_path):
    vectors = SentenceVectors(tmp_path, embedder)
    text = "The harbour reopened on Monday."
    vectors.embed([text])
    with sqlite3.connect(tmp_path / FILE_NAME) as db:  # a damaged row: half a vector
        db.execute("UPDATE vectors SET vec = substr(vec, 1, 100)")
    assert np.allclose(vectors.embed([text])[0], embedder.embed_texts([text])[0], atol=1e-6)


@pytest.mark.parametrize("texts", [[], ["Same sentence.", "Same sentence."]])
def test_empty_and_repeated_texts(embedder, tmp_path, texts):
    got = SentenceVectors(tmp_path, embedder).embed(texts)
    assert got.shape == (len(texts), embedder.dim)
