"""Fetched articles on disk: one HTML file per canonical URL, its fetch record beside it.

A fetched page is kept as the bytes the server sent, under
``DATA_DIR/web/pages``, and indexed by the same indexer as any HTML file: its
citations slice the same extracted text, and crash safety and pruning work as
for files. The file's name derives from the article's canonical URL, so the
same article reached by two links is one file and one document.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field, ValidationError

from ..ingest.metadata import ArticleMeta

PAGES_DIR = Path("web") / "pages"


def pages_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / PAGES_DIR


def is_url(value: str | Path) -> bool:
    """Whether an ingest argument names a URL (any scheme, so ``ftp://`` is refused with a reason, not
    looked for as a file)."""
    return isinstance(value, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value) is not None


def canonical_url(url: str) -> str:
    """The URL an article is known by: host lower case, default port and fragment dropped, tracking
    parameters (``utm_*``, ``fbclid``, ``gclid`` and the like, as courlan lists them) removed.

    Other query parameters stay: ``?id=3`` often is the article.
    """
    import courlan

    try:
        normal = courlan.normalize_url(url.strip())
    except Exception:  # courlan raises on broken hosts; the fetcher will say what is wrong
        normal = url.strip()
    parts = urlsplit(normal)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def article_url(final_url: str, declared: str | None) -> str:
    """The canonical URL of a page fetched from ``final_url`` whose ``<link rel=canonical>`` says ``declared``.

    A declared URL is believed only on the page's own site (``www.`` aside) and when it is not the site's
    home page: a page may not claim another site's article, or fetching it would replace that article in
    the index (``sync`` also refuses a claim on a stored article of other text). Copies across sites are
    grouped as one story instead (``rag.stories``).
    """
    if declared and _site(declared) == _site(final_url) and urlsplit(declared).path.strip("/"):
        return canonical_url(declared)
    return canonical_url(final_url)  # a site's home page as every page's canonical is a CMS slip, not a claim


def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def page_file_name(url: str) -> str:
    """``host-slug-hash.html`` for a canonical URL: readable in a source list, unique per URL, and the same in
    every data folder, so a URL names its stored page wherever a file name is accepted (``rag.sources``)."""
    parts = urlsplit(url)
    slug = re.sub(r"[^a-z0-9]+", "-", Path(parts.path).stem.lower()).strip("-")[:60]
    host = re.sub(r"[^a-z0-9.-]+", "-", _site(url))[:60] or "page"
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return f"{host}-{slug + '-' if slug else ''}{digest}.html"


def source_name(file_name: str, url: str | None) -> str:
    """What names an article's source to a reader: the URL of a page fetched from the web (the name of its
    stored file says nothing to anyone), else the file name."""
    if url and file_name == page_file_name(url):
        return url
    return file_name


def host_of(url: str) -> str:
    """The outlet a URL names when nothing better is known: its host without ``www.``."""
    return _site(url)


class ItemFacts(BaseModel):
    """What a feed item says about its article: the fallback when the page itself does not say."""

    title: str | None = None
    published: date | None = None
    author: str | None = None
    outlet: str | None = None


class PageRecord(BaseModel):
    """How one stored page was fetched: what conditional GET sends next time, and the links that led here."""

    url: str = Field(description="Canonical URL: the article's identity.")
    links: list[str] = Field(default_factory=list, description="Every (canonicalised) link that led here.")
    final_url: str
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime
    content_hash: str
    feed: str | None = Field(None, description="The feed that listed it, if any.")
    item: ItemFacts = Field(default_factory=ItemFacts)
    dropped: str | None = Field(None, description="Why the page is not indexed (the indexer refused it as no "
                                "article, or it was removed from the index); its file is then gone.")

    def facts(self) -> ArticleMeta:
        """The fallback facts for the indexer: the feed item's, the outlet as the host, and the canonical URL."""
        return ArticleMeta(title=self.item.title, published=self.item.published, author=self.item.author,
                           outlet=self.item.outlet or host_of(self.url), url=self.url)


class Pages:
    """The stored pages of one data folder. Not thread-safe: one sync or ingest at a time (the callers
    serialise writes, as for files)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.folder = pages_dir(data_dir)
        self._by_link: dict[str, PageRecord] | None = None

    def path_for(self, url: str) -> Path:
        return self.folder / page_file_name(url)

    def records(self) -> list[PageRecord]:
        """Every readable record (a torn or hand-edited one is skipped: its page is fetched again)."""
        found = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                found.append(PageRecord.model_validate_json(path.read_bytes()))
            except (OSError, ValidationError, ValueError):
                continue
        return found

    def known(self, link: str) -> PageRecord | None:
        """The record of the page a link led to before, if any."""
        if self._by_link is None:
            self._by_link = {}
            for record in self.records():
                for seen in {record.url, *record.links}:
                    self._by_link[seen] = record
        return self._by_link.get(canonical_url(link))

    def record_of(self, path: Path) -> PageRecord | None:
        """The record stored beside ``path`` when it is a stored page; None for any other file."""
        if path.parent.resolve() != self.folder.resolve():
            return None
        try:
            return PageRecord.model_validate_json(path.with_suffix(".json").read_bytes())
        except (OSError, ValidationError, ValueError):
            return None

    def save(self, record: PageRecord, html: bytes | None) -> Path:
        """Write the page (when ``html`` is given), then its record; each atomically, page first, so a
        crash leaves an old record (the page is fetched again) and never a record for a page not written."""
        path = self.path_for(record.url)
        self.folder.mkdir(parents=True, exist_ok=True)
        if html is not None:
            write_atomic(path, html)
        write_atomic(path.with_suffix(".json"), record.model_dump_json(indent=1).encode())
        if self._by_link is not None:
            for seen in {record.url, *record.links}:
                self._by_link[seen] = record
        return path

    def drop_page(self, record: PageRecord, reason: str) -> None:
        """The page is not to be indexed (no article text, or removed from the index): its file goes, its
        record says why, so a sync asks the server only whether it changed, and brings it back only if so."""
        self.save(record.model_copy(update={"dropped": reason}), None)  # the record first: a crash between
        self.path_for(record.url).unlink(missing_ok=True)  # the two leaves a page the next sync deletes

    def files(self) -> list[Path]:
        """The stored pages; what a crash left half-written (``.tmp-*.part``) is deleted on the way."""
        if not self.folder.is_dir():
            return []
        for torn in self.folder.glob(".tmp-*.part"):
            torn.unlink(missing_ok=True)
        return sorted(p for p in self.folder.glob("*.html") if not p.name.startswith("."))


def now() -> datetime:
    return datetime.now(timezone.utc)


def write_atomic(path: Path, data: bytes) -> None:
    # hidden and not .html: a write cut short by a crash is never taken for a page (and is swept by ``files``)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
