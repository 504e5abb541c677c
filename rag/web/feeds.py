"""Feeds: the registry of followed feeds, and reading one (RSS 0.9x/1.0/2.0, Atom, news sitemaps).

feedparser reads every RSS and Atom dialect and survives most broken XML;
a Google News sitemap (``<urlset>`` with ``news:`` elements) is read with
lxml. The registry is one small JSON file under ``DATA_DIR/feeds``,
replaced atomically, so a crash leaves the old list or the new one.
"""

from __future__ import annotations

import calendar
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from ..errors import FeedError, UnknownFeedError
from ..ingest.metadata import parse_date, short_text, web_url
from .pages import ItemFacts, write_atomic, canonical_url

FEEDS_FILE = Path("feeds") / "feeds.json"


class FeedItem(BaseModel):
    """One entry of a feed: the article's link and what the feed says about it."""

    link: str
    facts: ItemFacts = Field(default_factory=ItemFacts)


class ParsedFeed(BaseModel):
    title: str | None = None
    items: list[FeedItem] = Field(default_factory=list)
    total: int = Field(0, description="Items with a link in the feed, before the newest were kept.")
    warning: str | None = Field(None, description="The feed was malformed but its items could still be read.")


class Feed(BaseModel):
    """A followed feed and how its last sync went (what ``rag feed list`` and the Library tab show)."""

    url: str
    name: str | None = None
    added_at: datetime
    last_sync: datetime | None = None
    last_ok: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    items: int = Field(0, description="Items the feed listed at its last successful read.")
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    error: str | None = Field(None, description="Why the last sync of this feed failed, or failed for some items.")

    @property
    def label(self) -> str:
        return self.name or self.url


def parse_feed(data: bytes, url: str, max_items: int, media_type: str = "application/xml") -> ParsedFeed:
    """The feed's items with a web link, newest first, at most ``max_items`` (a feed of 10,000 items costs
    one parse, not 10,000 fetches). Raises FeedError when ``data`` is no feed at all."""
    head = data[:2048].lstrip().lower()
    if b"<urlset" in head or (b"<?xml" in head and b"sitemaps.org" in head and b"<urlset" in data[:65536].lower()):
        return _sitemap(data, url, max_items)
    import feedparser

    headers = {"content-location": url, "content-type": media_type or "application/xml"}
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    title = short_text(parsed.feed.get("title")) if parsed.get("feed") else None
    items = []
    for entry in parsed.entries:
        link = web_url(entry.get("link")) or web_url(entry.get("id"))
        if link is None:
            continue
        items.append(FeedItem(link=link, facts=ItemFacts(
            title=short_text(entry.get("title")), published=_entry_date(entry), author=short_text(entry.get("author")),
            outlet=title)))
    problem = parsed.get("bozo_exception")
    if isinstance(problem, (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)):
        problem = None  # a feed served as text/plain or with a wrong charset label: read as it is, no harm
    if not items:
        if problem is not None or not parsed.get("version"):
            raise FeedError(url, f"not a readable feed ({_first_line(problem) if problem else 'no RSS or Atom found'})")
        return ParsedFeed(title=title)
    return _newest(ParsedFeed(title=title, items=items, total=len(items),
                              warning=f"malformed feed, read anyway: {_first_line(problem)}" if problem else None),
                   max_items)


def _entry_date(entry: dict) -> date | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc).date()
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _newest(feed: ParsedFeed, max_items: int) -> ParsedFeed:
    """Dated items newest first, then undated ones in the feed's order (usually newest first too)."""
    order = sorted(range(len(feed.items)), key=lambda i: (feed.items[i].facts.published is None,
                                                          -(feed.items[i].facts.published or date.min).toordinal(), i))
    seen: set[str] = set()
    kept = []
    for i in order:
        key = canonical_url(feed.items[i].link)
        if key not in seen:
            seen.add(key)
            kept.append(feed.items[i])
    return feed.model_copy(update={"items": kept[:max_items]})


def _sitemap(data: bytes, url: str, max_items: int) -> ParsedFeed:
    """A news sitemap: ``<url><loc>`` with ``<news:publication_date>`` and ``<news:title>``."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FeedError(url, f"not a readable sitemap ({_first_line(exc)})") from exc
    items = []
    for node in root.iter("{*}url"):
        link = web_url(node.findtext("{*}loc"))
        if link is None:
            continue
        items.append(FeedItem(link=link, facts=ItemFacts(
            title=short_text(node.findtext(".//{*}news/{*}title")),
            published=parse_date(node.findtext(".//{*}news/{*}publication_date") or node.findtext("{*}lastmod")),
            outlet=short_text(node.findtext(".//{*}publication/{*}name")))))
    return _newest(ParsedFeed(items=items, total=len(items)), max_items)


def _first_line(exc: object) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


class FeedRegistry:
    """The followed feeds of one data folder (``DATA_DIR/feeds/feeds.json``).

    Every change reads, changes and writes the file under an exclusive file lock, so a `rag sync --every` in
    one process and a `rag feed add` in another (or the page) never undo each other's change.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / FEEDS_FILE

    @contextmanager
    def _lock(self) -> Iterator[None]:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(held, fcntl.LOCK_UN)

    def all(self) -> list[Feed]:
        """The feeds in the order they were added. A file that cannot be read raises FeedError naming it
        (it is never silently replaced by an empty list: the next save would lose every feed)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            return [Feed.model_validate(f) for f in _FeedList.model_validate_json(raw).feeds]
        except (ValidationError, ValueError) as exc:
            raise FeedError(str(self.path), f"the feed list cannot be read ({_first_line(exc)}); fix or delete "
                                            "the file and add the feeds again") from exc

    def add(self, url: str, name: str | None = None) -> Feed:
        """Follow a feed; adding one again renames it (when ``name`` is given) and keeps its history."""
        if web_url(url) is None:
            raise FeedError(url, "not an http(s) URL; give the feed's full address, e.g. https://example.com/rss")
        with self._lock():
            feeds = self.all()
            for i, feed in enumerate(feeds):
                if canonical_url(feed.url) == canonical_url(url):
                    if name:
                        feeds[i] = feed.model_copy(update={"name": name})
                        self._save(feeds)
                    return feeds[i]
            feed = Feed(url=url.strip(), name=name, added_at=datetime.now(timezone.utc))
            self._save([*feeds, feed])
            return feed

    def remove(self, url: str) -> Feed:
        """Stop following a feed (its articles stay indexed). Raises UnknownFeedError for a feed not followed."""
        with self._lock():
            feeds = self.all()
            keep = [f for f in feeds if canonical_url(f.url) != canonical_url(url) and f.name != url]
            if len(keep) == len(feeds):
                raise UnknownFeedError(url, [f.url for f in feeds])
            self._save(keep)
            return next(f for f in feeds if f not in keep)

    def update(self, url: str, **changes: object) -> None:
        """Record what a sync found (``last_sync``, counts, ``error``, validators) on the feed as it is now: a
        rename made meanwhile is kept, and a feed removed meanwhile stays removed."""
        with self._lock():
            feeds = self.all()
            self._save([f.model_copy(update=changes) if canonical_url(f.url) == canonical_url(url) else f
                        for f in feeds])

    def _save(self, feeds: list[Feed]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, _FeedList(feeds=feeds).model_dump_json(indent=1).encode())


class _FeedList(BaseModel):
    feeds: list[Feed] = Field(default_factory=list)
