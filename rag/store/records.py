"""A stored chunk's metadata: the flat dict Chroma keeps for each chunk, and reading it back.

Every chunk carries its document's facts (source, hash, chunk count) and the
article's (dates, author, outlet, URL), so the set of indexed documents is read
back from Chroma itself. Chroma stores only flat scalar values, hence dates as
ISO strings and spans as JSON.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from ..types import Chunk, Document, Span


def _chunk_meta(doc: Document, chunk: Chunk, fingerprint: str, n_chunks: int) -> dict[str, Any]:
    published = doc.published
    return {
        "doc_id": doc.doc_id,
        "source": doc.source,
        "file_name": doc.file_name,
        "title": doc.title,
        "kind": doc.kind,
        "published": published.isoformat() if published else "",
        "published_day": int(published.strftime("%Y%m%d")) if published else -1,
        "updated": doc.updated.isoformat() if doc.updated else "",
        "author": doc.author or "",
        "outlet": doc.outlet or "",
        "url": doc.url or "",
        "content_hash": doc.content_hash,
        "fingerprint": fingerprint,
        "ordinal": chunk.ordinal,
        "n_chunks": n_chunks,
        "start": chunk.start,
        "end": chunk.end,
        "n_tokens": chunk.n_tokens,
        "spans": json.dumps([[s.chunk_start, s.source_start, s.length] for s in chunk.spans]),
    }


def spans_from_meta(meta: dict[str, Any]) -> list[Span]:
    return [Span(chunk_start=a, source_start=b, length=c) for a, b, c in json.loads(meta["spans"])]


def date_from_meta(meta: dict[str, Any], key: str) -> date | None:
    return date.fromisoformat(meta[key]) if meta.get(key) else None


def article_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The article facts a chunk's metadata carries, as Passage/ArticleInfo fields (None when unknown;
    chunks stored before these existed have none)."""
    return {
        "published": date_from_meta(meta, "published"),
        "updated": date_from_meta(meta, "updated"),
        "author": meta.get("author") or None,
        "outlet": meta.get("outlet") or None,
        "url": meta.get("url") or None,
    }
