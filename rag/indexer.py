"""Keep the store in step with a set of files: add, update, skip, prune.

Crash safety comes from ordering, not locks: new chunks are upserted before
stale ones are deleted, a document counts as unchanged only when all its
chunks are present with the current hash, and the BM25 side index is marked
stale before the first write and rebuilt from Chroma at the end.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from .config import Settings
from .embeddings import Embedder
from .errors import ReaderUnavailableError
from .ingest.chunk import embedding_text
from .ingest.sidecar import Sidecars
from .ingest.pipeline import build_document, doc_id_for, document_hash, pipeline_fingerprint
from .ingest.readers import SkipFile, content_hash, discover, parse, read_bytes
from .sources import resolve_keys
from .store import Store, StoredDoc
from .web.pages import Pages
from .types import Chunk, Document, IngestReport, SkippedFile, Upload

def ingest(
    paths: list[str | Path],
    store: Store,
    embedder: Embedder,
    settings: Settings,
    prune: bool = False,
    progress: bool = True,
    on_file: Callable[[Path], None] | None = None,
    found: tuple[list[Path], list[tuple[str, str]]] | None = None,
    on_written: Callable[[list[tuple[Document, list[Chunk]]]], None] | None = None,
    upload: Upload | None = None,
) -> IngestReport:
    """Bring the store in line with ``paths``; one bad file never stops the run.

    ``upload``: the files were uploaded through the page, by whom and when. A file stored as an upload stays
    one when ingested again without it (``rag ingest DATA_DIR/uploads``): it never turns into corpus.
    ``found``: what ``discover(paths)`` gave, when the caller already walked the folders.
    ``on_written``: called on the writer thread with each written batch's (document, new chunks), for work
    derived from the chunks (the answerer's sentence vectors); it runs after the chunks are stored.
    """
    started = time.perf_counter()
    report = IngestReport()
    files, skipped = found if found is not None else discover(paths)
    report.skipped += [SkippedFile(path=p, reason=r) for p, r in skipped]
    roots = [Path(p).expanduser() for p in paths]
    pages = Pages(settings.data_dir)
    sidecars = Sidecars([p if p.is_dir() else p.parent for p in roots], settings.date_order)
    fingerprint = pipeline_fingerprint(settings, embedder)
    stored = store.documents()
    present = set(stored)  # doc ids in the store as this run goes on
    max_bytes = int(settings.max_file_mb * 1_000_000)
    changed = False
    batch: list[_Parsed] = []
    writer = _Writer(store, embedder, fingerprint, report, present, on_written)
    try:
        for path in tqdm(files, desc="Indexing", unit="file", disable=not progress):
            if on_file:
                on_file(path)
            try:
                data = read_bytes(path, max_bytes)
                existing = stored.get(doc_id_for(path))
                sidecar = sidecars.meta(path)
                uploaded = upload or (existing.record.upload() if existing else None)
                fetched = pages.record_of(path)
                web = fetched.facts() if fetched else None
                if existing and existing.is_complete(document_hash(content_hash(data), sidecar, uploaded, web),
                                                     fingerprint):
                    report.unchanged += 1
                    continue
                doc, chunks = build_document(parse(path, data), embedder, settings, sidecar, uploaded, web)
            except SkipFile as exc:
                report.skipped.append(SkippedFile(path=str(path), reason=str(exc)))
                continue
            except ReaderUnavailableError:  # the install, not this file: every file of its kind would fail
                raise
            except Exception as exc:  # a reader bug on one hostile file must not stop the run
                reason = f"could not be processed ({type(exc).__name__}: {exc})"
                report.skipped.append(SkippedFile(path=str(path), reason=reason))
                continue
            if not changed:
                store.begin_write()
                changed = True
            old_ids = existing.chunk_ids if existing else set()
            # a kept chunk (same text, same id) keeps its vector, unless the title it was embedded with or the
            # pipeline (what the model was fed: CLEANER_VERSION covers the embedder's text normalisation) changed
            same_pipeline = existing is not None and existing.fingerprint == fingerprint and existing.title == doc.title
            reusable = old_ids if same_pipeline else set()
            new = [c for c in chunks if c.chunk_id not in reusable]
            texts = [embedding_text(doc.title, c.text, embedder, embedder.max_tokens, c.n_tokens) for c in new]
            batch.append(_Parsed(doc, chunks, new, texts, old_ids, reusable, existing is not None))
            if sum(len(b.texts) for b in batch) >= _EMBED_TOGETHER:
                writer.submit(batch)
                batch = []
        writer.submit(batch)
        writer.wait()
        if prune:
            for doc in stored.values():
                if not Path(doc.source).exists():
                    if not changed:
                        store.begin_write()
                        changed = True
                    store.delete(sorted(doc.chunk_ids))
                    present.discard(doc.doc_id)
                    report.removed += 1
                    report.chunks_removed += len(doc.chunk_ids)
    except BaseException:
        writer.abandon()
        if changed:
            _sync_after_failure(store)
        raise
    finally:
        writer.close()
    report.warnings += sidecars.warnings
    if changed:
        store.sync_bm25()
    else:
        store.bm25()  # a run killed while saving the side index left it stale or missing: repair it now
    report.chunks_total = store.count()
    report.documents_total = len(present)  # no second full metadata scan
    report.seconds = time.perf_counter() - started
    return report


_EMBED_TOGETHER = 64  # texts from several small files fill whole model batches


@dataclass
class _Parsed:
    """A changed file, chunked, waiting for its new chunks to be embedded with others."""

    doc: Document
    chunks: list[Chunk]
    new: list[Chunk]
    texts: list[str]
    old_ids: set[str]
    reusable: set[str]  # old chunks whose vectors stay valid
    existed: bool


class _Writer:
    """Embeds and writes batches on one worker thread while the caller reads and chunks the next files.

    One batch at a time, in order (new chunks before stale deletions, as
    before), and at most one waiting: memory stays bounded and a crash
    leaves the same states a sequential run could.
    """

    def __init__(self, store: Store, embedder: Embedder, fingerprint: str, report: IngestReport,
                 present: set[str], on_written: Callable[[list[tuple[Document, list[Chunk]]]], None] | None) -> None:
        self._args = (store, embedder, fingerprint, report, present, on_written)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-ingest-writer")
        self._running: Future | None = None

    def submit(self, batch: list[_Parsed]) -> None:
        self.wait()  # the previous batch's error surfaces here, before more work is queued
        if batch:
            self._running = self._pool.submit(_write, batch, *self._args)

    def wait(self) -> None:
        """Until the batch in flight is written; its error is raised here (once)."""
        if self._running is not None:
            try:
                self._running.result()
            finally:
                if self._running.done():  # an interrupt while waiting leaves it in flight
                    self._running = None

    def abandon(self) -> None:
        """On the way out after an error or interrupt: no write may still run when BM25 is re-synced."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._running = None

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _write(batch: list[_Parsed], store: Store, embedder: Embedder, fingerprint: str, report: IngestReport,
           present: set[str], on_written: Callable[[list[tuple[Document, list[Chunk]]]], None] | None) -> None:
    """Embed the batch's new chunks in one call, then write each document: new chunks first, stale last."""
    vectors = embedder.embed_texts([t for item in batch for t in item.texts])
    at = 0
    for item in batch:
        doc, n_chunks = item.doc, len(item.chunks)
        store.add(doc, item.new, vectors[at : at + len(item.new)], fingerprint, n_chunks=n_chunks)
        at += len(item.new)
        store.refresh(doc, [c for c in item.chunks if c.chunk_id in item.reusable], fingerprint, n_chunks=n_chunks)
        stale = sorted(item.old_ids - {c.chunk_id for c in item.chunks})
        store.delete(stale)
        report.chunks_added += len(item.new)
        report.chunks_removed += len(stale)
        present.add(doc.doc_id)
        if item.existed:
            report.updated += 1
        else:
            report.added += 1
    store.stamp()
    if on_written is not None:
        try:
            on_written([(item.doc, item.new) for item in batch if item.new])
        except Exception as exc:  # derived work: the chunks are stored, the run goes on
            report.warnings.append(f"Work after writing {len(batch)} file(s) failed ({type(exc).__name__}: {exc}); "
                                   "the index is complete, answers encode what is missing when first needed.")


def remove(keys: list[str | Path], store: Store, docs: dict[str, StoredDoc] | None = None) -> IngestReport:
    """Take documents out of the index by doc id, path or file name (``sources.resolve_keys``); the files
    are left alone. All or nothing: a key that names no document raises before anything is removed.
    ``docs``: ``store.documents()``, when the caller has just read it (one scan of every chunk's metadata)."""
    started = time.perf_counter()
    report = IngestReport()
    docs = store.documents() if docs is None else docs
    wanted = resolve_keys(keys, docs.values())
    targets = [d for d in docs.values() if d.doc_id in wanted]
    if targets:
        store.begin_write()
        try:
            for doc in targets:
                store.delete(sorted(doc.chunk_ids))
                report.removed += 1
                report.chunks_removed += len(doc.chunk_ids)
        except BaseException:
            _sync_after_failure(store)
            raise
        store.sync_bm25()
    report.chunks_total = store.count()
    report.documents_total = len(docs) - len(targets)
    report.seconds = time.perf_counter() - started
    return report


def _sync_after_failure(store: Store) -> None:
    """Try to bring BM25 in line on the way out, without hiding the error that stopped the run.

    If Chroma itself is what failed (a server gone away), the stale marker stays
    and the next ingest or question rebuilds the side index.
    """
    try:
        store.sync_bm25()
    except Exception:
        pass
