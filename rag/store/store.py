"""Chroma (the source of truth) plus the BM25 side index, kept in agreement.

The set of indexed documents is read back from the chunks' metadata
(``records``), so an interrupted ingest shows up as an incomplete document.
Chroma is embedded (``PersistentClient`` in ``data_dir/chroma``) or, in server
mode, a ``chroma run`` server reached with ``HttpClient`` (``server``). The
BM25 side index always lives in ``data_dir``: it is rebuilt whenever Chroma
changed since it was built, so several app hosts can share one server, each
with its own copy.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EmbeddingMismatchError, EmptyIndexError, RagError, StoreCorruptedError
from ..spelling import Speller
from ..types import Chunk, Document
from .bm25 import BM25Index, Row, indexed_text
from .check import drift_report
from .records import ChunkRecord
from .server import ChromaServer, server_errors

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

_DIRTY = "bm25.dirty"
_PAGE = 5000


@dataclass
class StoredDoc:
    """One document as Chroma currently holds it."""

    doc_id: str
    source: str
    file_name: str
    title: str
    published: date | None
    content_hash: str
    fingerprint: str
    n_chunks: int
    record: ChunkRecord = field(repr=False)  # one chunk's record: the article's facts
    chunk_ids: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, record: ChunkRecord) -> StoredDoc:
        return cls(record.doc_id, record.source, record.file_name, record.title, record.published,
                   record.content_hash, record.fingerprint, record.n_chunks, record)

    def is_complete(self, content_hash: str, fingerprint: str) -> bool:
        return (
            self.content_hash == content_hash
            and self.fingerprint == fingerprint
            and len(self.chunk_ids) == self.n_chunks
        )


@dataclass
class Hit:
    chunk_id: str
    text: str
    meta: dict[str, Any]  # as Chroma stores it; read it through ``record``
    dense_score: float | None = None

    @cached_property
    def record(self) -> ChunkRecord:
        return ChunkRecord.from_meta(self.meta)


class Store:
    """Open with ``create=True`` to ingest; reading a missing store raises EmptyIndexError.

    With ``server``, Chroma is that server and ``data_dir`` holds only the BM25 side index.
    """

    def __init__(self, data_dir: Path, collection: str, embed_model: str, embed_dim: int,
                 create: bool = False, server: ChromaServer | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.server = server
        self._chroma_dir = self.data_dir / "chroma"
        self._bm25_dir = self.data_dir / "bm25"
        self._embed_model = embed_model
        self._bm25: BM25Index | None = None
        self._bm25_lock = threading.RLock()
        self._speller: tuple[BM25Index, Speller] | None = None  # and the side index it was built from
        self._speller_lock = threading.Lock()
        self._writing = False
        self._name = collection
        self.where = (f"collection {collection!r} on the Chroma server at {server.url}" if server
                      else str(self.data_dir))
        if server is None and not create and not self._chroma_dir.exists():
            raise EmptyIndexError(self.where)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with self._chroma():
                self._client = server.connect() if server else _local_client(self._chroma_dir)
                names = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
                if collection not in names and not create:
                    raise EmptyIndexError(self.where)
                self._col = self._client.get_or_create_collection(
                    collection,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"embed_model": embed_model, "embed_dim": embed_dim},
                    embedding_function=None,
                )
        except RagError:
            raise
        except Exception as exc:  # chromadb raises many types for a damaged folder
            if server is not None:
                raise
            raise StoreCorruptedError(str(self.data_dir), f"{type(exc).__name__}: {exc}") from exc
        meta = self._col.metadata or {}
        stored = f"{meta.get('embed_model')} (dim {meta.get('embed_dim')})"
        if meta.get("embed_model") != embed_model or meta.get("embed_dim") != embed_dim:
            raise EmbeddingMismatchError(self.where, stored, f"{embed_model} (dim {embed_dim})")

    def _chroma(self) -> AbstractContextManager[None]:
        """Wrap every call that talks to Chroma: in server mode, connection trouble gets a clear error."""
        return server_errors(self.server) if self.server else nullcontext()

    @staticmethod
    def wipe(data_dir: Path, collection: str, server: ChromaServer | None = None) -> None:
        """Delete the collection and the side index (for --rebuild), even from a damaged folder."""
        from chromadb.api.client import SharedSystemClient

        chroma_dir = Path(data_dir) / "chroma"
        if server is not None:
            with server.connect() as client, server_errors(server):
                if collection in {c if isinstance(c, str) else c.name for c in client.list_collections()}:
                    client.delete_collection(collection)
        elif chroma_dir.exists():
            try:
                client = _local_client(chroma_dir)
                if collection in {c if isinstance(c, str) else c.name for c in client.list_collections()}:
                    client.delete_collection(collection)
            except Exception:  # unreadable: remove the files instead
                SharedSystemClient.clear_system_cache()
                shutil.rmtree(chroma_dir, ignore_errors=True)
        for name in ("bm25", "bm25.tmp", "bm25.old", _DIRTY):
            target = Path(data_dir) / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()

    # --- reading -------------------------------------------------------------

    def count(self) -> int:
        with self._chroma():
            return self._col.count()

    def _all(self, include: list[str]) -> dict[str, list]:
        out: dict[str, list] = {"ids": [], "metadatas": [], "documents": []}
        total = self.count()
        for offset in range(0, total, _PAGE):
            with self._chroma():
                page = self._col.get(include=include, limit=_PAGE, offset=offset)
            out["ids"] += page["ids"]
            for key in include:
                out[key] += page[key]
        return out

    def documents(self) -> dict[str, StoredDoc]:
        docs: dict[str, StoredDoc] = {}
        data = self._all(["metadatas"])
        for chunk_id, m in zip(data["ids"], data["metadatas"]):
            record = ChunkRecord.from_meta(m)
            doc = docs.get(record.doc_id)
            if doc is None:
                doc = docs[record.doc_id] = StoredDoc.of(record)
            elif doc.content_hash != record.content_hash or doc.fingerprint != record.fingerprint:
                doc.content_hash = "(mixed)"  # leftovers of an interrupted update
            doc.chunk_ids.add(chunk_id)
        return docs

    def hits(self, doc_id: str | None = None) -> list[Hit]:
        """Every stored chunk (of one document, if given), in source order."""
        if doc_id is None:
            data = self._all(["documents", "metadatas"])
            triples = zip(data["ids"], data["documents"], data["metadatas"])
        else:
            with self._chroma():
                got = self._col.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
            triples = zip(got["ids"], got["documents"], got["metadatas"])
        hits = [Hit(i, d, m) for i, d, m in triples]
        return sorted(hits, key=lambda h: (h.record.source, h.record.start))

    def get(self, ids: list[str]) -> list[Hit]:
        if not ids:
            return []
        with self._chroma():
            got = self._col.get(ids=ids, include=["documents", "metadatas"])
        by_id = {i: Hit(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}
        return [by_id[i] for i in ids if i in by_id]

    def query_dense(self, embedding: list[float], n: int, doc_ids: set[str] | None = None,
                    max_day: int | None = None) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) of the ``n`` nearest chunks, best first; ``doc_ids`` restricts to those
        articles, ``max_day`` (YYYYMMDD) to articles published on or before it (undated, stored as -1, stay).

        Ids and distances only: texts are fetched afterwards for the few
        passages that survive fusion (half the query cost at 30 candidates).
        """
        if n <= 0 or doc_ids == set():
            return []
        clauses = ([{"doc_id": {"$in": sorted(doc_ids)}}] if doc_ids is not None else []) + (
            [{"published_day": {"$lte": max_day}}] if max_day is not None else [])
        where = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)
        with self._chroma():  # n may exceed the count: Chroma then returns them all
            res = self._col.query(
                query_embeddings=[embedding], n_results=n, where=where, include=["distances"],
            )
        return [(i, 1.0 - float(dist)) for i, dist in zip(res["ids"][0], res["distances"][0])]

    def bm25(self) -> BM25Index:
        """The side index, rebuilt first if an ingest died or Chroma changed since it was built.

        Every write stamps the collection with a new ``generation`` (in its
        metadata) and the side index records the one it was built at, so one
        cheap collection lookup (0.4 ms) tells whether it is current, for
        writers in other processes and on other hosts too, even when a change
        kept the chunk count. Stores written before generations existed fall
        back to comparing counts (O(chunks) in Chroma) until their next ingest.

        While this process is writing, readers keep the index they have (the
        writer rebuilds it when done) rather than racing it to rebuild.
        """
        with self._bm25_lock:
            if self._writing and self._bm25 is not None:
                return self._bm25
            generation = self._generation()
            if generation is None:
                return self._bm25_by_count()
            if self._bm25 is not None and self._bm25.generation == generation:
                return self._bm25
            index = None if self._marked_stale() else BM25Index.load(self._bm25_dir)
            if index is None or index.generation != generation:
                index = self._rebuild_bm25()
            self._bm25 = index
            return index

    def speller(self) -> Speller:
        """Typo correction against the indexed words (``rag.spelling``), built on first use and again after
        the index changes.

        It follows ``bm25()``: a side index is replaced (never changed) when
        the collection's generation moves, on an ingest or remove here or
        elsewhere, so the speller is kept as long as the same side index
        object is current. Words come from the side index's stored chunk
        copy (titles included, as BM25 sees them), from Chroma without one.
        """
        index = self.bm25()
        with self._speller_lock:
            if self._speller is not None and self._speller[0] is index:
                return self._speller[1]
            texts = index.texts()
            if texts is None:
                data = self._all(["documents", "metadatas"])
                texts = (indexed_text(d, ChunkRecord.from_meta(m).title)
                         for d, m in zip(data["documents"], data["metadatas"]))
            speller = Speller.from_texts(texts)
            self._speller = (index, speller)
            return speller

    def _bm25_by_count(self) -> BM25Index:
        total = self.count()
        if self._bm25 is None or self._bm25.count != total:
            index = None if self._marked_stale() else BM25Index.load(self._bm25_dir)
            if index is None or index.count != total:
                index = self._rebuild_bm25()
            self._bm25 = index
        return self._bm25

    def _marked_stale(self) -> bool:
        """Whether an ingest died (or is still running) since the side index was last rebuilt."""
        return (self.data_dir / _DIRTY).exists()

    def _generation(self) -> str | None:
        """The collection's write stamp; follows the collection if another host recreated it (--rebuild)."""
        from chromadb.errors import NotFoundError

        with self._chroma():
            try:
                current = self._client.get_collection(self._name, embedding_function=None)
            except NotFoundError:
                raise EmptyIndexError(self.where) from None
        if current.id != self._col.id:
            self._col, self._bm25 = current, None
        return (current.metadata or {}).get("generation")

    def stamp(self) -> None:
        """A new generation, after a batch of writes: readers anywhere rebuild their side index before trusting it."""
        with self._chroma():
            meta = dict(self._client.get_collection(self._name, embedding_function=None).metadata or {})
            meta["generation"] = uuid.uuid4().hex
            self._col.modify(metadata=meta)

    def check(self) -> list[str]:
        """Drift between Chroma and the saved side index, read-only: empty when they agree (``check.drift_report``)."""
        return drift_report(self)

    def size_bytes(self) -> int:
        """Bytes of the index on this machine: Chroma's folder and the BM25 side index (server mode: BM25 only).

        The ONNX model export under ``models/`` is not index data and is not counted.
        """
        roots = [self._bm25_dir] if self.server else [self._chroma_dir, self._bm25_dir]
        return sum(p.stat().st_size for root in roots for p in root.rglob("*") if p.is_file())

    # --- writing -------------------------------------------------------------

    def begin_write(self) -> None:
        """Mark the BM25 side index stale until ``sync_bm25`` finishes."""
        self._writing = True
        (self.data_dir / _DIRTY).write_text("an ingest is changing Chroma; BM25 must be rebuilt\n")
        self.stamp()

    def add(self, doc: Document, chunks: list[Chunk], embeddings: list[list[float]],
            fingerprint: str, n_chunks: int) -> None:
        """Upsert some chunks of ``doc``, which has ``n_chunks`` chunks in all."""
        for k in range(0, len(chunks), _PAGE):  # Chroma takes at most ~5,461 records a call (max_batch_size)
            part = chunks[k : k + _PAGE]
            with self._chroma():
                self._col.upsert(
                    ids=[c.chunk_id for c in part],
                    embeddings=embeddings[k : k + _PAGE],
                    documents=[c.text for c in part],
                    metadatas=[ChunkRecord.of(doc, c, fingerprint, n_chunks).to_meta() for c in part],
                )

    def refresh(self, doc: Document, chunks: list[Chunk], fingerprint: str, n_chunks: int) -> None:
        """Rewrite the metadata of chunks kept from an earlier version of ``doc`` (same text, so same vector).

        Their hash and offsets must follow the new file, or the document looks
        half-updated forever and citations point at the old positions.
        """
        for k in range(0, len(chunks), _PAGE):
            part = chunks[k : k + _PAGE]
            with self._chroma():
                self._col.update(ids=[c.chunk_id for c in part],
                                 metadatas=[ChunkRecord.of(doc, c, fingerprint, n_chunks).to_meta() for c in part])

    def delete(self, ids: list[str]) -> None:
        for k in range(0, len(ids), _PAGE):
            with self._chroma():
                self._col.delete(ids=ids[k : k + _PAGE])

    def sync_bm25(self) -> BM25Index:
        """Rebuild the side index from Chroma's contents and clear the stale marker.

        If Chroma cannot be read (a server gone away), the marker stays and the
        copy in memory is dropped, so the next reader rebuilds instead of trusting it.
        """
        with self._bm25_lock:
            try:
                self.stamp()
                index = self._rebuild_bm25()
            except BaseException:
                self._bm25 = None
                raise
            finally:
                self._writing = False
            (self.data_dir / _DIRTY).unlink(missing_ok=True)
            return index

    def _rebuild_bm25(self) -> BM25Index:
        """Build and save the side index (callers hold ``_bm25_lock``: rebuilds share a folder).

        The generation is read before the contents: a write in between leaves a
        newer generation, so the index built here is not trusted past it.
        """
        generation = self._generation()
        data = self._all(["documents", "metadatas"])
        texts, rows = [], []
        for i, d, m in zip(data["ids"], data["documents"], data["metadatas"]):
            record = ChunkRecord.from_meta(m)
            texts.append(indexed_text(d, record.title))
            rows.append(Row(i, record.doc_id, record.source, record.file_name, record.published_day))
        index = BM25Index.build(texts, rows, generation)
        index.save(self._bm25_dir, data["documents"], data["metadatas"])
        index = BM25Index.load(self._bm25_dir) or index  # the saved copy serves chunk texts from disk
        if not self._writing:
            (self.data_dir / _DIRTY).unlink(missing_ok=True)
        self._bm25 = index
        return index


def _local_client(chroma_dir: Path) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False))
