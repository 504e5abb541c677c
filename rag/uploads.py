"""Uploaded files into the index, by the same rules whichever door they came through (the page's Library
tab, ``POST /api/ingest``): checked for type and size, renamed so they cannot escape the upload folder or
pass for an article of the collection, indexed as uploads (so every citation says who uploaded them), and
deleted again when their article is removed."""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from .errors import SourceChangedError, UnknownSourceError
from .ingest.readers import SUPPORTED
from .sources import source_text
from .types import ArticleInfo, IngestReport, Upload

if TYPE_CHECKING:
    from .api import RAG

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = tuple(SUPPORTED)

MAX_NAME = 120


@dataclass
class Saved:
    """What became of a batch of uploads: files kept, and files refused with a reason."""

    paths: list[Path] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    replaced: dict[Path, Path] = field(default_factory=dict)  # kept path -> the earlier upload's copy, set aside
    names: dict[Path, str] = field(default_factory=dict)  # kept path -> the name it was sent under

    def settle(self, refused: set[Path]) -> None:
        """After the ingest: a file it ``refused`` (empty, unreadable; or not indexed when it failed) is
        taken out again and the earlier upload of that name put back, whose article is still indexed and
        cited; the set-aside copies of the files it took are deleted."""
        for path in self.paths:
            earlier = self.replaced.get(path)
            if path in refused:
                path.unlink(missing_ok=True)
                if earlier is not None:
                    os.replace(earlier, path)
            elif earlier is not None:
                earlier.unlink(missing_ok=True)


def safe_name(name: str) -> str:
    """A plain file name from whatever the browser sent: no folders, no dot-files, no odd characters.

    >>> safe_name("../../etc/passwd.txt")
    'passwd.txt'
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name))[-1]
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")
    base = re.sub(r"\s+", "_", base)
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    while len(stem.encode()) > MAX_NAME - len(suffix) - 1:  # file systems count bytes, not characters
        stem = stem[:-1]
    stem = stem or "upload"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def taken_names(articles: list[ArticleInfo]) -> dict[str, str]:
    """The file names an upload may not take: those of indexed corpus articles (case-folded name -> title).

    An upload under such a name would be listed, filtered and cited like the real article; an earlier
    upload's name stays free, so uploading a new version replaces it.
    """
    return {a.file_name.casefold(): a.title for a in articles if a.origin != "upload"}


def save_uploads(files: list[str | Path], names: list[str] | None, upload_dir: Path, max_bytes: int,
                 taken: Mapping[str, str] | None = None) -> Saved:
    """Copy uploads into ``upload_dir`` under safe names; an earlier upload of the same name is replaced
    (uploading a new version updates the article).

    ``names`` are the names the user gave (the temporary ``files`` may be named
    otherwise); the type is judged by that name, as ``rag ingest`` would.
    ``taken`` (from ``taken_names``): a file whose safe name is an indexed corpus article's is refused,
    so an upload can never pass for that article.
    """
    saved = Saved()
    upload_dir.mkdir(parents=True, exist_ok=True)
    root = upload_dir.resolve()
    for i, src in enumerate(files):
        src = Path(src)
        original = names[i] if names and i < len(names) else src.name
        name = safe_name(original)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            kinds = ", ".join(SUPPORTED_SUFFIXES)
            saved.rejected.append((original, f"unsupported file type {suffix or '(none)'!r}; supported: {kinds}"))
            continue
        try:
            size = src.stat().st_size
        except OSError as exc:
            saved.rejected.append((original, f"could not be read ({exc.strerror or exc})"))
            continue
        if size > max_bytes:
            saved.rejected.append((original, f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit "
                                             "(RAG_MAX_FILE_MB)"))
            continue
        if taken and (title := taken.get(name.casefold())) is not None:
            saved.rejected.append((original, f"an indexed article is already called {name} (“{title}”); an upload "
                                             "may not take the name of an article of the collection. Rename the "
                                             "file and upload it again."))
            continue
        target = (root / name).resolve()
        if target.parent != root:  # cannot happen after safe_name; checked anyway
            saved.rejected.append((original, "unsafe file name"))
            continue
        if any(p.name.casefold() == target.name.casefold() for p in saved.paths):  # one file on a case-blind disk
            saved.rejected.append((original, f"another file in this upload is also saved as {name}; rename one"))
            continue
        # copied beside it first, then swapped in whole: the name always holds a complete file; an earlier
        # upload of it is kept (a hard link, under a name no other operation uses) until the new one is indexed
        unique = uuid.uuid4().hex[:12]
        incoming, earlier = root / f".incoming-{unique}-{name}", root / f".replaced-{unique}-{name}"
        try:
            shutil.copyfile(src, incoming)
            if target.exists():
                try:
                    os.link(target, earlier)
                except OSError:  # a file system without hard links
                    shutil.copy2(target, earlier)
                saved.replaced[target] = earlier
            os.replace(incoming, target)
        except OSError as exc:
            incoming.unlink(missing_ok=True)
            if saved.replaced.pop(target, None) is not None:
                earlier.unlink(missing_ok=True)
            saved.rejected.append((original, f"could not be saved ({exc.strerror or exc})"))
            continue
        saved.paths.append(target)
        saved.names[target] = original
    return saved


@dataclass
class Uploaded:
    """What became of one upload request: the ingest's report (None when no file was kept) and every file
    refused, by the upload rules or by ingest, as (name as sent, reason)."""

    report: IngestReport | None
    rejected: list[tuple[str, str]]


def upload_dir(rag: "RAG") -> Path:
    """Where uploads are kept by default: ``DATA_DIR/uploads``."""
    return Path(rag.settings.data_dir) / "uploads"


def add_uploads(rag: "RAG", files: Sequence[str | Path], names: Sequence[str] | None, folder: Path, by: str | None,
                lock: threading.Lock, progress: bool = False) -> Uploaded:
    """Save ``files`` (sent under ``names``) into ``folder`` and index them as uploads by ``by`` (empty:
    'anonymous'), holding ``lock`` (one writer at a time). Raises what ``RAG.ingest`` raises; a refused
    file is reported, not raised."""
    upload = Upload.now(by)
    with lock:
        taken = taken_names(rag.documents())
        saved = save_uploads(list(files), list(names) if names else None, folder,
                             int(rag.settings.max_file_mb * 1_000_000), taken)
        try:
            report = rag.ingest(saved.paths, progress=progress, upload=upload) if saved.paths else None
        except BaseException:
            saved.settle(_not_indexed(rag, saved))  # the folder matches the index again; the error is the ingest's
            raise
        skipped = {Path(s.path).resolve(): s.reason for s in report.skipped} if report else {}
        saved.settle(set(skipped))
    refused = [(saved.names.get(path, path.name), reason) for path, reason in skipped.items()]
    return Uploaded(report, saved.rejected + refused)


def _not_indexed(rag: "RAG", saved: Saved) -> set[Path]:
    """After a failed ingest, the saved files the index does not hold as they now are: it may have taken some
    before it failed. A file counts as held when the stored passages' verbatim spans still match it (as
    ``RAG.source_text`` checks); when the index cannot be read, none does, and every earlier upload is put
    back (what the index held before this upload began)."""
    held: set[Path] = set()
    try:
        sources = {Path(a.source).resolve(): a.doc_id for a in rag.documents()}
        for path in saved.paths:
            doc_id = sources.get(path.resolve())
            if doc_id is not None:
                try:
                    source_text(doc_id, rag.passages(doc_id), int(rag.settings.max_file_mb * 1_000_000))
                    held.add(path)
                except (SourceChangedError, UnknownSourceError):
                    pass
    except Exception:  # the store is why the ingest failed: keep what the index had before
        log.warning("could not read the index after a failed upload; earlier uploads are put back", exc_info=True)
    return set(saved.paths) - held


def remove_articles(rag: "RAG", doc_ids: Sequence[str], folder: Path, lock: threading.Lock) -> IngestReport:
    """Take articles out of the index by their exact doc ids, holding ``lock``; an uploaded copy in ``folder``
    is deleted too, other files are left alone. Raises UnknownSourceError for an id that is not an indexed
    article's: names and paths, which ``RAG.remove`` also takes (``~`` names every article under home), are
    not accepted from a page or a request."""
    with lock:
        articles = rag.documents()
        unknown = [i for i in doc_ids if i not in {a.doc_id for a in articles}]
        if unknown:
            raise UnknownSourceError({i: [] for i in unknown})
        removed = [a for a in articles if a.doc_id in doc_ids]
        report = rag.remove(list(doc_ids))
        root = folder.resolve()
        for article in removed:
            path = Path(article.source)
            if path.resolve().parent == root:
                path.unlink(missing_ok=True)
    return report
