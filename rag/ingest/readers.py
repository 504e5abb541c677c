"""Find article files and turn each into source text plus what it says about itself.

Offsets everywhere refer to ``RawDocument.text``: for .txt/.md that is the
file decoded as UTF-8, character for character; for HTML and PDF it is the
extracted main text (trafilatura, pypdf).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import ReaderUnavailableError
from .metadata import ArticleMeta, short_text
from .sidecar import SIDECAR_NAMES

SUPPORTED = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


class SkipFile(Exception):
    """This file cannot be indexed; the message is the reason shown to the user."""


@dataclass
class RawDocument:
    path: Path
    kind: str
    text: str
    content_hash: str
    meta: ArticleMeta = field(default_factory=ArticleMeta)  # what the file's own metadata says (HTML tags, PDF Info)
    # what the file says about itself that the article's own byline beats: a PDF's Info dictionary (the account
    # that made it as Author, when it was made as CreationDate)
    file_meta: ArticleMeta = field(default_factory=ArticleMeta)


def discover(paths: list[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand files and folders (recursively, hidden entries ignored) into supported files.

    Returns the files in a stable order and (path, reason) for what was left out.
    Symlinked folders inside a folder are not followed (they can loop); pass
    one directly to index it.
    """
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists() and not path.is_symlink():
            skipped.append((shown(path), "no such file or folder"))
        elif path.is_dir():
            for root, dirs, names in os.walk(path):
                linked = [d for d in dirs if os.path.islink(os.path.join(root, d))]
                for d in sorted(linked):
                    if not d.startswith("."):
                        skipped.append((shown(Path(root) / d), "symlinked folder not followed (it could loop); "
                                                               "pass it directly to index it"))
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in linked)
                for name in sorted(names):
                    if not name.startswith("."):
                        _classify(Path(root) / name, files, skipped)
        else:
            _classify(path, files, skipped)
    unique: dict[Path, None] = {}
    for path in files:
        target = path.resolve()
        if shown(target) != str(target):  # the name, a folder above it, or a link's target; cannot be stored
            skipped.append((shown(path), f"path is not valid UTF-8 ({shown(target)}); rename it"))
        else:
            unique.setdefault(target)
    return list(unique), skipped


def shown(path: Path | str) -> str:
    """The path as text that can always be printed and stored: undecodable name bytes become \\xNN."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def _classify(path: Path, files: list[Path], skipped: list[tuple[str, str]]) -> None:
    reason = None
    try:
        info = path.stat()  # follows symlinks
    except OSError as exc:
        reason = f"broken symlink ({exc.strerror})" if path.is_symlink() else f"cannot read file: {exc.strerror}"
    else:
        if not stat.S_ISREG(info.st_mode):
            reason = "not a regular file (a device, pipe or socket)"
        elif path.name in SIDECAR_NAMES:
            return  # metadata for the articles beside it, read by the indexer (see ingest/metadata.py)
        elif path.suffix.lower() not in SUPPORTED:
            kinds = ", ".join(sorted(SUPPORTED))
            reason = f"unsupported file type {path.suffix or '(none)'!r}; supported: {kinds}"
    if reason:
        skipped.append((shown(path), reason))
    else:
        files.append(path)


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, or SkipFile for empty, huge or unreadable files."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SkipFile(
                f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit (RAG_MAX_FILE_MB)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise SkipFile("empty file")
    if len(data) > max_bytes:
        raise SkipFile(f"file grew past the {max_bytes / 1e6:.1f} MB limit while being read")
    return data


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse(path: Path, data: bytes) -> RawDocument:
    """Decode and extract one file already read into memory."""
    kind = SUPPORTED[path.suffix.lower()]
    digest = content_hash(data)
    if kind == "pdf":
        return _parse_pdf(path, data, digest)
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        raise SkipFile("binary data, not text")
    if kind == "html":
        return _parse_html(path, data, digest)
    return RawDocument(path, kind, _decode(data), digest)


# What each reader imports, in import order, and the pip package that provides it. lxml_html_clean comes
# before trafilatura: jusText (under trafilatura) imports lxml.html.clean, which lxml 5.2 moved out into it.
_NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "html": (("lxml.html", "lxml"), ("lxml_html_clean", "lxml_html_clean"), ("lxml.html.clean", "lxml_html_clean"),
             ("trafilatura", "trafilatura")),
    "pdf": (("pypdf", "pypdf"),),
}


def check_readers(files: Iterable[Path]) -> None:
    """Raise ReaderUnavailableError, before anything is written, if a reader these files need cannot load."""
    for kind in sorted({SUPPORTED[f.suffix.lower()] for f in files if f.suffix.lower() in SUPPORTED}):
        require_reader(kind)


@cache
def require_reader(kind: str) -> None:
    """Import what the reader of ``kind`` needs; a broken install stops the run once, with the fix."""
    for module, package in _NEEDS.get(kind, ()):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            missing = getattr(exc, "name", None) or module
            if not module.startswith(missing):  # a dependency of the package is what is missing
                package = missing.split(".")[0]
            first_line = (str(exc).splitlines() or [missing])[0]
            raise ReaderUnavailableError(kind, missing, package, f"{type(exc).__name__}: {first_line}") from exc


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        label = "UTF-8" if encoding == "utf-8-sig" else f"{encoding.upper()} (as its byte-order mark says)"
        raise SkipFile(
            f"not valid {label}: bad byte at offset {exc.start}; convert the file to UTF-8"
        ) from exc


def _parse_html(path: Path, data: bytes, digest: str) -> RawDocument:
    require_reader("html")
    from .html import extract

    try:
        page = extract(data)
    except Exception as exc:  # trafilatura and lxml raise many types on broken markup
        raise SkipFile(f"HTML could not be parsed: {exc}") from exc
    if page is None:
        raise SkipFile("no article text found in the HTML (menus, consent and sign-up boxes and scripts do not count)")
    return RawDocument(path, "html", page.text, digest, meta=page.meta)


def _parse_pdf(path: Path, data: bytes, digest: str) -> RawDocument:
    require_reader("pdf")
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair notes ("EOF marker not found") are noise here
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("encrypted PDF: a password is needed; save an unencrypted copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
    except SkipFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise SkipFile(f"unreadable PDF: {exc}") from exc
    except Exception as exc:  # pypdf raises assorted errors on hostile files
        raise SkipFile(f"unreadable PDF: {type(exc).__name__}: {exc}") from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise SkipFile("PDF has no extractable text (scanned image?)")
    return RawDocument(
        path, "pdf", text, digest,
        file_meta=ArticleMeta(title=_pdf_field(meta, "title"), author=short_text(_pdf_field(meta, "author")),
                              published=_pdf_created(meta)),
    )


def _pdf_created(meta: Any) -> date | None:
    """The Info CreationDate when it names a whole day ("D:20250822..."); pypdf reads "D:2025" as 1 January."""
    try:
        raw = meta.get("/CreationDate") if meta is not None else None
    except Exception:
        return None
    if not isinstance(raw, str) or not re.match(r"^(?:D:)?\d{8}", raw.strip()):
        return None
    return _pdf_field(meta, "creation_date")


def _pdf_field(meta: object, name: str) -> Any:
    """One Info-dictionary field, or None when absent, empty, of an odd type or malformed.

    pypdf parses ``creation_date`` on access and raises on a value that is not
    a PDF date ("yesterday", ""): a bad field must never cost the document.
    """
    try:
        value = getattr(meta, name, None) if meta is not None else None
    except Exception:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and value.strip():
        return value.strip()  # control characters are cut where they start, as everywhere (pipeline._plain)
    return None
