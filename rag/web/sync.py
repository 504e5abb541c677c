"""Feeds -> new and changed articles -> the indexer.

One pass reads every followed feed with a conditional GET, then each of its
newest items' pages (again conditionally when fetched before), stores new and
changed pages and indexes them, one feed at a time. A 304 downloads nothing.

Crash safety comes from ordering, as in the indexer: a page is stored before
it is indexed, and a feed's ETag is saved only after its articles are indexed.
So a sync killed at any point is completed by the next one: it first indexes
stored pages the index lacks, then reads the feed again (its old ETag no
longer matches what was seen), and every page it already stored answers 304.
Identity is the canonical URL, so nothing is stored or indexed twice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel, Field
from tqdm.auto import tqdm

from ..errors import FeedError, FetchError
from ..types import IngestReport
from .feeds import Feed, FeedRegistry, parse_feed
from .pages import ItemFacts, PageRecord, Pages, article_url, canonical_url, now

if TYPE_CHECKING:
    from .fetch import Fetcher

Ingest = Callable[[list[Path]], IngestReport]


class SyncFailure(BaseModel):
    url: str
    reason: str
    feed: str | None = None
    transient: bool = Field(False, description="Worth trying again (a timeout, 429, 5xx): the next sync does.")


class SyncReport(BaseModel):
    """What one sync did, for the summary line, the Library tab and callers."""

    feeds_checked: int = 0
    feeds_unchanged: int = Field(0, description="Feeds the server said had not changed (304).")
    feeds_failed: int = Field(0, description="Feeds that could not be read (their failure is in ``failed``).")
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[SyncFailure] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    downloaded: int = Field(0, description="Article pages downloaded (HTTP 200).")
    seconds: float = 0.0

    def summary(self) -> str:
        articles_failed = len(self.failed) - self.feeds_failed
        return (f"feeds checked {self.feeds_checked} ({self.feeds_unchanged} unchanged, {self.feeds_failed} failed); "
                f"articles new {self.new}, updated {self.updated}, unchanged {self.unchanged}, "
                f"failed {articles_failed}; {self.downloaded} page(s) downloaded; {self.seconds:.1f}s")

    def add(self, ingested: IngestReport) -> None:
        self.new += ingested.added
        self.updated += ingested.updated
        self.unchanged += ingested.unchanged
        self.warnings += ingested.warnings


class Stored(NamedTuple):
    """One article page after fetching: its file (None when it was refused before as no article and has not
    changed since), whether it is new or changed, and whether it was downloaded (HTTP 200, not 304)."""

    path: Path | None
    changed: bool
    downloaded: bool


def fetch_article(fetcher: Fetcher, pages: Pages, link: str, facts: ItemFacts | None = None,
                  feed: str | None = None, again: bool = False) -> Stored:
    """Fetch one article page into ``pages`` (a conditional GET when it was fetched before, unless ``again``
    asks for a page dropped earlier: ``rag ingest URL`` of an article once removed brings it back).
    Raises FetchError (and its subclasses) for a page that cannot be fetched."""
    from ..ingest.html import declared_canonical

    asked = canonical_url(link)
    known = pages.known(asked)
    # validators only for what is on disk (or dropped on purpose): a record whose page a crash took must
    # not answer 304 for ever
    ask = known is not None and (known.dropped is not None and not again
                                 or known.dropped is None and pages.path_for(known.url).exists())
    got = fetcher.get(asked, "page", etag=known.etag if ask else None,
                      last_modified=known.last_modified if ask else None)
    if got.not_modified and known is not None:
        path = pages.path_for(known.url)
        return Stored(None if known.dropped or not path.exists() else path, False, False)
    url = article_url(got.final_url, declared_canonical(got.content))
    if url != canonical_url(got.final_url) and not _same_article(pages, url, got.content):
        url = canonical_url(got.final_url)  # the canonical it declares holds another article: keep both
    previous = known if known is not None and known.url == url else pages.known(url)
    digest = hashlib.sha256(got.content).hexdigest()
    record = PageRecord(
        url=url, links=sorted({*(previous.links if previous else []), asked, canonical_url(got.final_url)}),
        final_url=got.final_url, etag=got.etag, last_modified=got.last_modified, fetched_at=now(),
        content_hash=digest, feed=feed or (previous.feed if previous else None),
        item=facts or (previous.item if previous else ItemFacts()),
    )
    path = pages.path_for(url)
    changed = (previous is None or previous.content_hash != digest or previous.item != record.item
               or previous.dropped is not None or not path.exists())
    pages.save(record, got.content if changed else None)
    return Stored(path, changed, True)


def _same_article(pages: Pages, url: str, html: bytes) -> bool:
    """Whether the page stored under ``url`` (if any) is this article: near-identical text (the same
    Jaccard bound as syndicated copies, ``rag.stories``). A misconfigured CMS that declares one canonical
    URL for every page, or a page claiming another author's article, must not replace it."""
    stored = pages.path_for(url)
    if pages.known(url) is None or not stored.exists():
        return True
    from ..ingest.html import extract
    from ..text import jaccard, terms

    try:
        ours, theirs = extract(html), extract(stored.read_bytes())
    except Exception:  # an unreadable page: do not let it take another's place
        return False
    if ours is None or theirs is None:
        return False
    return jaccard(set(terms(ours.text)), set(terms(theirs.text))) >= SAME_ARTICLE


SAME_ARTICLE = 0.8  # word-set Jaccard: an AMP or print version of an article, not a related one


def fetch_urls(fetcher: Fetcher, pages: Pages, urls: list[str]) -> tuple[list[Path], list[SyncFailure]]:
    """``rag ingest URL...``: each article stored (unchanged ones too, so the indexer counts them)."""
    paths, failed = [], []
    for url in urls:
        try:
            path = fetch_article(fetcher, pages, url, again=True).path
        except FetchError as exc:
            failed.append(SyncFailure(url=url, reason=exc.detail))
            continue
        if path is None:
            known = pages.known(url)
            failed.append(SyncFailure(url=url, reason=(known.dropped if known else None) or "not an article"))
        else:
            paths.append(path)
    return paths, failed


def index_pages(ingest: Ingest, pages: Pages, paths: list[Path], report: SyncReport, feed: str | None) -> None:
    """Index stored pages; a page the indexer refuses (no article text) is dropped and recorded as failed."""
    ingested = ingest(paths)
    report.add(ingested)
    _refused(pages, ingested, report, feed)


def _refused(pages: Pages, ingested: IngestReport, report: SyncReport, feed: str | None) -> None:
    for skipped in ingested.skipped:
        report.failed.append(SyncFailure(url=skipped.path, reason=skipped.reason, feed=feed))


def drop_refused(pages: Pages, ingested: IngestReport) -> None:
    """Stored pages the indexer refused (no article text) are dropped, so that a sync asks the server only
    whether they changed, and the report names them by URL, not by their file in the data folder."""
    for skipped in ingested.skipped:
        record = pages.record_of(Path(skipped.path))
        if record is not None:
            pages.drop_page(record, skipped.reason)
            skipped.path = record.url


def sync(registry: FeedRegistry, pages: Pages, fetcher: Fetcher, ingest: Ingest, max_items: int,
         progress: bool = False, only: list[str] | None = None) -> SyncReport:
    """Bring the index in line with every followed feed (or those ``only`` names), once: first the pages a
    killed sync stored but did not index, then each feed."""
    started = time.perf_counter()
    report = SyncReport()
    resumed = _resume(ingest, pages, report)
    wanted = {canonical_url(u) for u in only} if only else None
    for feed in registry.all():
        if wanted is not None and canonical_url(feed.url) not in wanted and feed.name not in (only or []):
            continue
        report.feeds_checked += 1
        _sync_feed(feed, registry, pages, fetcher, ingest, max_items, progress, report, resumed)
    report.seconds = time.perf_counter() - started
    return report


def _resume(ingest: Ingest, pages: Pages, report: SyncReport) -> set[Path]:
    """Index every stored page the index lacks or holds an older version of: what a killed sync stored. The
    indexer's content check makes the unchanged ones cheap (a read and a hash each). Returns the pages it
    added or updated, so that their 304 below is not counted again as unchanged."""
    files = []
    for path in pages.files():
        record = pages.record_of(path)
        if record is not None and record.dropped:
            path.unlink(missing_ok=True)  # a crash between dropping the record and deleting the page
        else:
            files.append(path)
    if not files:
        return set()
    ingested = ingest(files)
    report.new += ingested.added
    report.updated += ingested.updated
    report.warnings += ingested.warnings
    _refused(pages, ingested, report, None)
    return {p.resolve() for p in files} if ingested.added or ingested.updated else set()


def _sync_feed(feed: Feed, registry: FeedRegistry, pages: Pages, fetcher: Fetcher, ingest: Ingest,
               max_items: int, progress: bool, report: SyncReport, resumed: set[Path]) -> None:
    checked = now()
    before = len(report.failed)
    try:
        got = fetcher.get(feed.url, "feed", etag=feed.etag, last_modified=feed.last_modified)
        if got.not_modified:  # what it brought last time stands: its articles unchanged, its failures too
            indexed = feed.new + feed.updated + feed.unchanged
            report.feeds_unchanged += 1
            report.unchanged += indexed
            registry.update(feed.url, last_sync=checked, last_ok=checked, new=0, updated=0, unchanged=indexed)
            return
        parsed = parse_feed(got.content, got.final_url, max_items, got.media_type)
    except FetchError as exc:
        return _feed_failed(feed, registry, report, checked, exc.detail, exc.transient)
    except FeedError as exc:
        return _feed_failed(feed, registry, report, checked, exc.reason, False)
    if parsed.warning:
        report.warnings.append(f"{feed.label}: {parsed.warning}")
    if parsed.total > len(parsed.items):
        report.warnings.append(f"{feed.label}: the newest {len(parsed.items)} of {parsed.total} items were read "
                               "(RAG_FEED_MAX_ITEMS)")
    counts = (report.new, report.updated, report.unchanged)
    changed: list[Path] = []
    for item in tqdm(parsed.items, desc=f"Syncing {feed.label}"[:60], unit="article", disable=not progress):
        try:
            stored = fetch_article(fetcher, pages, item.link, item.facts, feed.url)
        except FetchError as exc:
            report.failed.append(SyncFailure(url=item.link, reason=exc.detail, feed=feed.url,
                                             transient=exc.transient))
            continue
        report.downloaded += stored.downloaded
        if stored.path is not None and stored.changed:
            changed.append(stored.path)
        elif stored.path is None or stored.path.resolve() not in resumed:
            report.unchanged += 1
    if changed:
        index_pages(ingest, pages, changed, report, feed.url)
    failures = report.failed[before:]
    # the feed's validators are kept unless an item failed for now (a timeout, 5xx): then the next sync reads
    # the feed again and retries it (the others answer 304). A page that will fail the same way (404, robots)
    # does not cost the feed its conditional GET for ever.
    done = {"etag": got.etag, "last_modified": got.last_modified} if not any(f.transient for f in failures) else {}
    named = {"name": parsed.title} if not feed.name and parsed.title else {}  # the channel's own title
    registry.update(feed.url, **named, last_sync=checked, last_ok=checked, items=parsed.total,
                    new=report.new - counts[0], updated=report.updated - counts[1],
                    unchanged=report.unchanged - counts[2], failed=len(failures),
                    error=(f"{len(failures)} article(s) failed, e.g. {failures[0].url}: {failures[0].reason}"
                           if failures else None), **done)


def _feed_failed(feed: Feed, registry: FeedRegistry, report: SyncReport, checked: datetime, reason: str,
                 transient: bool) -> None:
    report.failed.append(SyncFailure(url=feed.url, reason=reason, feed=feed.url, transient=transient))
    report.feeds_failed += 1
    registry.update(feed.url, last_sync=checked, error=reason)
