"""The BM25 side index: a derived copy of the Chroma collection, rebuilt whole.

It is never edited in place. After every ingest that changed the store it is
rebuilt from what Chroma holds and swapped in by rename; a marker file written
before the first change to Chroma and removed after the swap tells a later
process that an ingest died in between, so it rebuilds before answering.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from ..text import matcher_fingerprint, terms
from .content import StoredChunks
from .records import ChunkRecord

_MANIFEST = "manifest.json"
_ROWS = "rows.json"


@dataclass
class Row:
    """What filters need to know about each indexed chunk."""

    chunk_id: str
    doc_id: str
    source: str
    file_name: str
    published_day: int  # YYYYMMDD, -1 when unknown


def indexed_text(text: str, title: str) -> str:
    """What BM25 indexes for a chunk: its article's title too, so a headline's words find the article."""
    return f"{title}\n{text}"


class BM25Index:
    def __init__(self, retriever: bm25s.BM25 | None, rows: list[Row], count: int,
                 generation: str | None = None, stored: StoredChunks | None = None) -> None:
        self._retriever = retriever
        self.rows = rows
        self.count = count
        self.generation = generation  # the Chroma collection's write stamp it was built at
        self._stored = stored
        self._row_of = {r.chunk_id: i for i, r in enumerate(rows)}
        self.latest_day = max((r.published_day for r in rows), default=-1)  # YYYYMMDD of the newest article
        self._days = np.fromiter((r.published_day for r in rows), dtype=np.int64, count=len(rows))
        self._doc_rows: dict[str, list[int]] | None = None  # doc id -> its rows, built when first asked
        self._hidden: tuple[frozenset[str], np.ndarray, int] | None = None  # the last left-out set, mask, chunks

    def doc_id(self, chunk_id: str) -> str:
        """The article a chunk belongs to; for a chunk this index does not hold, its id's prefix ("doc:0003:hash")."""
        row = self._row_of.get(chunk_id)
        return self.rows[row].doc_id if row is not None else chunk_id.split(":", 1)[0]

    def chunk_count(self, doc_ids: frozenset[str]) -> int:
        """How many chunks those articles have here (kept with their mask, see ``_without``)."""
        self._without(doc_ids)
        return self._hidden[2]

    def _rows_by_doc(self) -> dict[str, list[int]]:
        if self._doc_rows is None:
            by_doc: dict[str, list[int]] = {}
            for i, r in enumerate(self.rows):
                by_doc.setdefault(r.doc_id, []).append(i)
            self._doc_rows = by_doc
        return self._doc_rows

    def _without(self, doc_ids: frozenset[str]) -> np.ndarray:
        """A score mask that is 0 on those articles' rows; the last one is kept, as most questions leave out
        the same set (a corpus's syndicated copies), so it costs no pass over the rows per question."""
        kept = self._hidden
        if kept is not None and kept[0] is doc_ids:
            return kept[1]
        mask = np.ones(len(self.rows), dtype=np.float32)
        rows = self._rows_by_doc()
        count = 0
        for d in doc_ids:
            mask[rows.get(d, [])] = 0.0
            count += len(rows.get(d, ()))
        self._hidden = (doc_ids, mask, count)
        return mask

    def published_day(self, chunk_id: str) -> int:
        """The chunk's article's published day as YYYYMMDD; -1 when undated or not in this index."""
        row = self._row_of.get(chunk_id)
        return self.rows[row].published_day if row is not None else -1

    @classmethod
    def build(cls, texts: list[str], rows: list[Row], generation: str | None = None) -> "BM25Index":
        retriever = None
        if rows:
            retriever = bm25s.BM25()
            retriever.index([terms(t) or ["\u2205"] for t in texts], show_progress=False)
        return cls(retriever, rows, len(rows), generation)

    def stored(self, chunk_ids: list[str]) -> dict[str, tuple[str, dict]]:
        """(text, metadata) of those chunks this index holds a copy of (none until saved and loaded)."""
        if self._stored is None:
            return {}
        return {cid: self._stored[self._row_of[cid]] for cid in chunk_ids if cid in self._row_of}

    def texts(self) -> Iterator[str] | None:
        """Each chunk's text as BM25 indexed it (title, a line break, the chunk), from the stored copy, in row
        order; None when this index holds no copy (built, not yet saved and loaded)."""
        if self._stored is None:
            return None
        stored = self._stored
        return (indexed_text(text, ChunkRecord.from_meta(meta).title)
                for text, meta in (stored[row] for row in range(len(self.rows))))

    def save(self, folder: Path, documents: list[str] | None = None, metadatas: list[dict] | None = None) -> None:
        """Write the index (and the chunks' stored copy, when given) and swap it in by rename."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._retriever is not None:
            self._retriever.save(str(tmp))
        if documents is not None and metadatas is not None:
            StoredChunks.write(tmp, documents, metadatas)
        (tmp / _ROWS).write_text(json.dumps([r.__dict__ for r in self.rows]))
        (tmp / _MANIFEST).write_text(json.dumps(
            {"count": self.count, "generation": self.generation, "matcher": matcher_fingerprint()}))
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> "BM25Index | None":
        """The saved index, or None when it is missing, unreadable or built by another matcher (then rebuild).

        Terms come from ``rag.text``; an index whose terms an older matcher
        made would silently miss words, so a new ``matcher_fingerprint`` rebuilds it.
        """
        try:
            manifest = json.loads((folder / _MANIFEST).read_text())
            rows = [Row(**r) for r in json.loads((folder / _ROWS).read_text())]
            retriever = bm25s.BM25.load(str(folder)) if rows else None
            stored = StoredChunks(folder) if StoredChunks.exists(folder) else None
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if manifest.get("matcher") != matcher_fingerprint() or manifest.get("count") != len(rows) or (
                stored is not None and len(stored) != len(rows)):
            return None
        return cls(retriever, rows, len(rows), manifest.get("generation"), stored)

    def search(self, query: str, k: int, allowed: set[str] | None = None,
               max_day: int | None = None, hidden: frozenset[str] = frozenset()) -> list[tuple[str, float]]:
        """(chunk_id, score) best first; ``allowed`` restricts to those doc ids, ``max_day`` (YYYYMMDD) to
        chunks of articles published on or before it (undated ones included); ``hidden`` doc ids are left out."""
        if self._retriever is None or k <= 0:
            return []
        vocab = self._retriever.vocab_dict
        tokens = [t for t in terms(query) if t in vocab]
        if not tokens:
            return []
        mask = None
        if allowed is not None:
            mask = np.array([1 if r.doc_id in allowed else 0 for r in self.rows], dtype=np.float32)
        if max_day is not None:
            by_day = (self._days <= max_day).astype(np.float32)
            mask = by_day if mask is None else mask * by_day
        if hidden:
            mask = self._without(hidden) if mask is None else mask * self._without(hidden)
        k = min(k, len(self.rows))
        # get_scores + argpartition: bm25s.retrieve starts a thread pool and a tqdm bar on every call
        scores = self._retriever.get_scores(tokens, weight_mask=mask)
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties by position, whatever the corpus size
        return [(self.rows[int(d)].chunk_id, float(scores[d])) for d in top if scores[d] > 0]
