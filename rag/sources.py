"""Which indexed articles a user's keys name: the one resolver behind filters and ``remove``.

A key is a doc id, a file name, a path, or the URL of an article fetched from the web. Paths are resolved as ``rag ingest``
resolves them (``~`` expanded, relative to the current folder, symlinks
followed), so the path a user ingested is the path that finds the article
again. A folder names every article under it. A bare file name names every
article with that name (two folders may both hold a ``storm.txt``); a path or
doc id picks one. A key that names nothing is an error, never an empty result:
a typo must not read as "the articles do not say".
"""

from __future__ import annotations

import difflib
import os
import unicodedata
from pathlib import Path, PurePath
from typing import Iterable, Protocol

from .errors import SourceChangedError, UnknownSourceError
from .ingest.readers import SkipFile, parse, read_bytes
from .types import Passage
from .web.pages import canonical_url, is_url, page_file_name


class Indexed(Protocol):
    """What the resolver reads of an indexed article (a stored document or a BM25 row)."""

    doc_id: str
    source: str  # absolute, resolved path, as ingest stored it
    file_name: str


def resolve_keys(keys: Iterable[str | os.PathLike], docs: Iterable[Indexed]) -> set[str]:
    """Doc ids named by ``keys``; raises UnknownSourceError naming every key that matches nothing."""
    docs = list({d.doc_id: d for d in docs}.values())  # BM25 rows repeat each document once per chunk
    found: set[str] = set()
    unknown: list[str] = []
    for key in dict.fromkeys(os.fspath(k) for k in keys):
        matched = _matches(key, docs)
        if not matched:
            unknown.append(key)
        found |= matched
    if unknown:
        names = sorted({d.file_name for d in docs})
        raise UnknownSourceError({k: _nearest(k, names) for k in unknown})
    return found


def _matches(key: str, docs: list[Indexed]) -> set[str]:
    if not key.strip():
        return set()  # a blank key would resolve to the current folder and name everything under it
    if is_url(key):  # an article fetched from the web, by the URL its citations show (or any link to it)
        stored = page_file_name(canonical_url(key))
        return {d.doc_id for d in docs if d.file_name == stored}
    try:
        path = str(Path(key).expanduser().resolve())
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a symlink loop: not a path, maybe a name
        path = None
    folder = path.rstrip(os.sep) + os.sep if path else None
    name = _nfc(key)  # a name typed composed matches a file saved decomposed (macOS), and back
    return {d.doc_id for d in docs
            if key == d.doc_id or name == _nfc(d.file_name)
            or (path and (d.source == path or d.source.startswith(folder)
                          or _nfc(d.source) == _nfc(path) or _nfc(d.source).startswith(_nfc(folder))))}


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _nearest(key: str, names: list[str]) -> list[str]:
    """Indexed file names close to the key's last part (a mistyped path still ends in a file name).

    Compared without extension and case: a shared ".txt" would make every name look close.
    """
    by_stem: dict[str, list[str]] = {}
    for name in names:
        by_stem.setdefault(PurePath(name).stem.lower(), []).append(name)
    stem = PurePath(PurePath(key).name or key).stem.lower()
    return [n for close in difflib.get_close_matches(stem, list(by_stem), n=3) for n in by_stem[close]][:3]


def source_text(doc_id: str, passages: list[Passage], max_bytes: int) -> str:
    """The text an article's offsets index (``Citation.start``/``end``, ``Passage.start``/``end``): its file
    read and extracted again as ingest did (for HTML and PDF, the extracted text). ``passages``: all of the
    article's (``RAG.passages(doc_id)``), whose verbatim spans must still match it. Raises UnknownSourceError
    for an id that is not indexed, SourceChangedError when the file changed or is gone since."""
    if not passages:
        raise UnknownSourceError({doc_id: []})
    path = Path(passages[0].source)
    try:
        text = parse(path, read_bytes(path, max_bytes)).text
    except (SkipFile, OSError) as exc:
        raise SourceChangedError(str(path), f"can no longer be read ({exc})") from None
    for passage in passages:
        for span in passage.spans:
            piece = passage.text[span.chunk_start : span.chunk_start + span.length]
            if text[span.source_start : span.source_start + span.length] != piece:
                raise SourceChangedError(str(path), "changed")
    return text
