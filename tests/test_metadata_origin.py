"""Where an article's text came from (corpus or a page upload) is stored with every chunk and reaches every
passage, citation and listing; indexes written before the field read as corpus."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

from rag import Upload
from rag.cli import _provenance
from rag.store.records import ChunkRecord
from tests.conftest import ARTICLES, CALL_FILE

ALICE = Upload(by="alice", at=datetime(2025, 6, 13, 10, 2, 3, tzinfo=timezone.utc))
CALL_Q = "How long did Trump's phone call with Putin last?"


def test_the_codec_keeps_an_upload_and_reads_an_older_chunk_as_corpus(make_rag, articles_copy):
    rag = make_rag()
    rag.ingest([articles_copy / CALL_FILE], progress=False, upload=ALICE)
    [hit] = rag._open_store().hits()[:1]
    meta = hit.record.to_meta()
    assert (meta["origin"], meta["uploaded_by"], meta["uploaded_at"]) == ("upload", "alice", ALICE.at.isoformat())
    assert ChunkRecord.from_meta(meta) == hit.record
    older = {k: v for k, v in meta.items() if k not in ("origin", "uploaded_by", "uploaded_at")}
    record = ChunkRecord.from_meta(older)
    assert (record.origin, record.uploaded_by, record.uploaded_at, record.upload()) == ("corpus", None, None, None)


def test_an_uploaded_article_says_so_in_passages_citations_listing_and_cli(make_rag, articles_copy, tmp_path):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    shutil.copy(ARTICLES / CALL_FILE, uploads / "call.txt")
    rag.ingest([uploads / "call.txt"], progress=False, upload=ALICE)

    by_file = {a.file_name: a for a in rag.documents()}
    assert by_file["call.txt"].upload_note() == "uploaded by alice on 2025-06-13T10:02:03Z"
    assert by_file[CALL_FILE].origin == "corpus" and by_file[CALL_FILE].upload_note() is None
    answer = rag.ask(CALL_Q, filters={"sources": ["call.txt"]})
    assert answer.citations and all(c.origin == "upload" and c.uploaded_by == "alice" for c in answer.citations)
    passage = answer.passages[answer.citations[0].n - 1]
    assert _provenance(passage).startswith("uploaded by alice on 2025-06-13T10:02:03Z, ")
    corpus = rag.ask(CALL_Q, filters={"sources": [CALL_FILE]})
    assert all(c.origin == "corpus" and c.upload_note() is None for c in corpus.citations)

    # ingested again without saying it is an upload (`rag ingest DATA_DIR/uploads`): it stays one
    assert rag.ingest([uploads], progress=False).unchanged == 1
    assert {a.file_name: a.origin for a in rag.documents()}["call.txt"] == "upload"
    # uploaded again by someone else: the record follows the new upload
    bob = Upload(by="bob", at=datetime(2025, 6, 14, tzinfo=timezone.utc))
    assert rag.ingest([uploads / "call.txt"], progress=False, upload=bob).updated == 1
    assert {a.file_name: a.uploaded_by for a in rag.documents()}["call.txt"] == "bob"
    assert Upload.now(None).by == "anonymous" and Upload.now("  ").by == "anonymous"
