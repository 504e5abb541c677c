"""One source file in, one ``Document`` and its chunks out: ids, metadata, cleaning, chunking.

The indexer decides what to (re)build; this module says how, and
``pipeline_fingerprint`` names everything whose change makes the stored
chunks out of date.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

from ..config import Settings
from ..embeddings import Embedder
from ..sentences import LIGATURES, line_spans
from ..types import Chunk, Document, Upload
from .chunk import chunk
from .clean import clean
from .metadata import ArticleMeta, byline, front_matter, guess_title
from .readers import RawDocument, SkipFile

CLEANER_VERSION = "3"  # 3: paragraphs across wrapped lines, table rows without their outer pipes, front matter;
# HTML without consent dialogs, paywall and sign-up prompts and menus; text embedded in NFKC
# (2: control characters end a line; no sentence is in more than two chunks)


def doc_id_for(path: Path) -> str:
    """Stable id of the file at this absolute path."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


def pipeline_fingerprint(settings: Settings, embedder: Embedder) -> str:
    """Changes whenever re-chunking, re-embedding or re-reading metadata would give other chunks."""
    key = (f"{CLEANER_VERSION}|{settings.chunk_tokens}|{settings.chunk_overlap_tokens}|{embedder.name}"
           f"|{settings.date_order}")
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def document_hash(file_hash: str, sidecar: ArticleMeta | None, upload: Upload | None = None,
                  web: ArticleMeta | None = None) -> str:
    """The stored document's version: its file's sha256, and the facts a metadata sidecar gives it, so that
    editing its row re-indexes the file (and editing other columns does not); for an upload, also who
    uploaded it and when, so that uploading it again records the new upload; for a fetched page, what its
    feed item says and its canonical URL."""
    if sidecar is None and upload is None and web is None:
        return file_hash
    facts = json.dumps(asdict(sidecar), sort_keys=True, default=str) if sidecar else ""
    if web is not None:
        facts += "|web:" + json.dumps(asdict(web), sort_keys=True, default=str)
    if upload is not None:
        facts += "|upload:" + upload.model_dump_json()
    return hashlib.sha256(f"{file_hash}|{facts}".encode()).hexdigest()


def build_document(raw: RawDocument, embedder: Embedder, settings: Settings,
                   sidecar: ArticleMeta | None = None, upload: Upload | None = None,
                   web: ArticleMeta | None = None) -> tuple[Document, list[Chunk]]:
    """Clean and chunk one parsed file; its facts as ``rag.ingest.metadata`` ranks their sources, and, for an
    ``upload``, who uploaded it and when (so no citation of it can pass for the corpus).

    ``web``: a fetched page's facts (``rag.web.pages``): its feed item's title, date and author fill what the
    page does not say, and its canonical URL (tracking parameters stripped) is the document's URL."""
    order = settings.date_order
    front, body = front_matter(raw.text, order) if raw.kind in ("text", "markdown") else (ArticleMeta(), 0)
    cleaned = clean(raw.text, markdown=raw.kind == "markdown", skip_to=body)
    if not cleaned.segments:
        raise SkipFile("no article text left after removing boilerplate")
    meta = (sidecar or ArticleMeta()).over(_plain_meta(raw.meta)).over(front).over(byline(cleaned, order)).over(
        _plain_meta(raw.file_meta))
    if web is not None:
        meta = replace(meta.over(_plain_meta(web)), url=web.url)
    doc_id = doc_id_for(raw.path)
    doc = Document(
        doc_id=doc_id,
        source=str(raw.path.resolve()),
        file_name=raw.path.name,
        title=(_plain(meta.title) or guess_title(cleaned, fallback=raw.path.stem)).translate(LIGATURES),
        published=meta.published,
        updated=meta.updated,
        author=meta.author,
        outlet=meta.outlet,
        url=meta.url,
        content_hash=document_hash(raw.content_hash, sidecar, upload, web),
        kind=raw.kind,
        n_chars=len(raw.text),
        dropped_lines=cleaned.dropped,
        **({"origin": "upload", "uploaded_by": upload.by, "uploaded_at": upload.at} if upload else {}),
    )
    chunks = chunk(cleaned, doc_id, embedder, settings.chunk_tokens, settings.chunk_overlap_tokens)
    return doc, chunks


def _plain_meta(meta: ArticleMeta) -> ArticleMeta:
    return replace(meta, title=_plain(meta.title), author=_plain(meta.author), outlet=_plain(meta.outlet))


def _plain(value: str | None) -> str | None:
    """A metadata string (HTML or PDF title, author) up to its first control character or escape, as cleaning
    treats text."""
    spans = line_spans(value) if isinstance(value, str) else []
    return value[spans[0][0]:spans[0][1]] if spans else None
