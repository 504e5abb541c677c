"""A stored chunk's metadata as one typed record, and the one codec to and from Chroma's flat dict.

Every chunk carries its document's facts (source, hash, chunk count) and the
article's (dates, author, outlet, URL), so the set of indexed documents is read
back from Chroma itself. Chroma keeps only flat scalars, hence dates as ISO
strings ("" when unknown), the published day also as YYYYMMDD (-1) for the
filters, and spans as JSON. Only this module knows those keys: a new article
fact is added here once, and every reader gets it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, timezone
from typing import Any

from ..time import day_number
from ..types import Chunk, Document, Origin, Span, Upload


@dataclass(frozen=True)
class ChunkRecord:
    """One stored chunk's metadata: its document's and article's facts and its place in the source.

    The article facts (``published`` .. ``url``) are None when unknown, and for
    chunks stored before the key existed: old indexes read without a re-ingest.
    ``origin`` says whether the text came from the corpus or a page upload (then
    with who and when); chunks stored before it existed read as corpus.
    Spans stay encoded until asked for: listing documents and rebuilding BM25
    read every chunk's record and need none of them.
    """

    doc_id: str
    source: str
    file_name: str
    title: str
    kind: str
    content_hash: str
    fingerprint: str  # the pipeline that made the chunk (``ingest.pipeline.pipeline_fingerprint``)
    ordinal: int
    n_chunks: int  # of its document
    start: int
    end: int
    n_tokens: int
    spans_json: str = field(repr=False)  # [[chunk_start, source_start, length], ...]
    published: date | None = None
    updated: date | None = None
    author: str | None = None
    outlet: str | None = None
    url: str | None = None
    origin: Origin = "corpus"
    uploaded_by: str | None = None
    uploaded_at: datetime | None = None

    @classmethod
    def of(cls, doc: Document, chunk: Chunk, fingerprint: str, n_chunks: int) -> ChunkRecord:
        """The record of ``chunk`` of ``doc``, which has ``n_chunks`` chunks in all."""
        return cls(
            doc_id=doc.doc_id, source=doc.source, file_name=doc.file_name, title=doc.title, kind=doc.kind,
            content_hash=doc.content_hash, fingerprint=fingerprint, ordinal=chunk.ordinal, n_chunks=n_chunks,
            start=chunk.start, end=chunk.end, n_tokens=chunk.n_tokens,
            spans_json=json.dumps([[s.chunk_start, s.source_start, s.length] for s in chunk.spans]),
            published=doc.published, updated=doc.updated, author=doc.author, outlet=doc.outlet, url=doc.url,
            origin=doc.origin, uploaded_by=doc.uploaded_by, uploaded_at=doc.uploaded_at,
        )

    @cached_property
    def spans(self) -> list[Span]:
        """Where the chunk's text was copied from in the source text (see ``types.Span``)."""
        return [Span(chunk_start=a, source_start=b, length=c) for a, b, c in json.loads(self.spans_json)]

    @property
    def published_day(self) -> int:
        """The published date as YYYYMMDD, -1 when unknown: what the BM25 rows and date filters compare."""
        return _day(self.published)

    def article(self) -> dict[str, Any]:
        """The article facts, where its text came from included, as Passage / ArticleInfo fields."""
        return {"published": self.published, "updated": self.updated, "author": self.author,
                "outlet": self.outlet, "url": self.url, "origin": self.origin, "uploaded_by": self.uploaded_by,
                "uploaded_at": self.uploaded_at}

    def upload(self) -> Upload | None:
        """Who uploaded the stored document and when; None for the corpus."""
        if self.origin != "upload":
            return None
        return Upload(by=self.uploaded_by or "anonymous", at=self.uploaded_at or datetime.fromtimestamp(0, timezone.utc))

    def to_meta(self) -> dict[str, Any]:
        """The flat dict Chroma stores; its keys and encoding are what every existing index holds."""
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "file_name": self.file_name,
            "title": self.title,
            "kind": self.kind,
            "published": self.published.isoformat() if self.published else "",
            "published_day": _day(self.published),
            "updated": self.updated.isoformat() if self.updated else "",
            "author": self.author or "",
            "outlet": self.outlet or "",
            "url": self.url or "",
            "origin": self.origin,
            "uploaded_by": self.uploaded_by or "",
            "uploaded_at": self.uploaded_at.isoformat() if self.uploaded_at else "",
            "content_hash": self.content_hash,
            "fingerprint": self.fingerprint,
            "ordinal": self.ordinal,
            "n_chunks": self.n_chunks,
            "start": self.start,
            "end": self.end,
            "n_tokens": self.n_tokens,
            "spans": self.spans_json,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> ChunkRecord:
        """Read back what ``to_meta`` stored; the article facts may be missing (older chunks) and read as None,
        a missing or unknown ``origin`` as the corpus.

        The other keys have been written since the first index, so a missing one is a damaged store (KeyError).
        """
        return cls(
            doc_id=meta["doc_id"], source=meta["source"], file_name=meta["file_name"], title=meta["title"],
            kind=meta["kind"], content_hash=meta["content_hash"], fingerprint=meta["fingerprint"],
            ordinal=meta["ordinal"], n_chunks=meta["n_chunks"], start=meta["start"], end=meta["end"],
            n_tokens=meta["n_tokens"], spans_json=meta["spans"],
            published=date_from_meta(meta, "published"), updated=date_from_meta(meta, "updated"),
            author=meta.get("author") or None, outlet=meta.get("outlet") or None, url=meta.get("url") or None,
            origin="upload" if meta.get("origin") == "upload" else "corpus",
            uploaded_by=meta.get("uploaded_by") or None,
            uploaded_at=datetime.fromisoformat(meta["uploaded_at"]) if meta.get("uploaded_at") else None,
        )


def _day(day: date | None) -> int:
    return day_number(day) if day else -1


def spans_from_meta(meta: dict[str, Any]) -> list[Span]:
    return ChunkRecord.from_meta(meta).spans


def date_from_meta(meta: dict[str, Any], key: str) -> date | None:
    return date.fromisoformat(meta[key]) if meta.get(key) else None


def article_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The article facts a chunk's metadata carries, as Passage/ArticleInfo fields (None when unknown)."""
    return ChunkRecord.from_meta(meta).article()
