"""One source file in, one ``Document`` and its chunks out: ids, metadata, cleaning, chunking.

The indexer decides what to (re)build; this module says how, and
``pipeline_fingerprint`` names everything whose change makes the stored
chunks out of date.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..config import Settings
from ..embeddings import Embedder
from ..text import line_spans
from ..types import Chunk, Document
from .chunk import chunk
from .clean import clean
from .metadata import guess_date, guess_title
from .readers import RawDocument, SkipFile

CLEANER_VERSION = "3"  # 2: control characters end a line; no sentence is in more than two chunks
# 3: HTML without consent dialogs, paywall and sign-up prompts and menus (pages indexed before are re-read)


def doc_id_for(path: Path) -> str:
    """Stable id of the file at this absolute path."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


def pipeline_fingerprint(settings: Settings, embedder: Embedder) -> str:
    """Changes whenever re-chunking or re-embedding would give different chunks."""
    key = f"{CLEANER_VERSION}|{settings.chunk_tokens}|{settings.chunk_overlap_tokens}|{embedder.name}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def build_document(raw: RawDocument, embedder: Embedder, settings: Settings) -> tuple[Document, list[Chunk]]:
    """Clean and chunk one parsed file."""
    cleaned = clean(raw.text, markdown=raw.kind == "markdown")
    if not cleaned.segments:
        raise SkipFile("no article text left after removing boilerplate")
    doc_id = doc_id_for(raw.path)
    doc = Document(
        doc_id=doc_id,
        source=str(raw.path.resolve()),
        file_name=raw.path.name,
        title=_plain(raw.title) or guess_title(cleaned, fallback=raw.path.stem),
        published=raw.published or guess_date(cleaned),
        content_hash=raw.content_hash,
        kind=raw.kind,
        n_chars=len(raw.text),
        dropped_lines=cleaned.dropped,
    )
    chunks = chunk(cleaned, doc_id, embedder, settings.chunk_tokens, settings.chunk_overlap_tokens)
    return doc, chunks


def _plain(title: str | None) -> str | None:
    """A title from HTML or PDF metadata up to its first control character or escape, as cleaning treats text."""
    spans = line_spans(title) if title else []
    return title[spans[0][0]:spans[0][1]] if spans else None
