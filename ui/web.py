"""The Library tab's web side: fetch an article by its address, follow a feed, sync, stop following.

Plain methods like ``Handlers``' (tests call them directly), sharing its write lock so one library change
runs at a time. Each returns a Markdown summary: counts, then one line per failure with the fetcher's
reason, which already says the fix. Addresses and reasons come from outside, so all of it is escaped.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

import gradio as gr

from rag import RAG, Feed, IngestReport, SyncReport, UnknownFeedError, Upload

from . import render
from .handlers import readable

FEED_HEADERS = ["Feed", "Last sync", "Items", "New", "Updated", "Unchanged", "Failed", "Problem"]
MAX_FAILURE_LINES = 20  # a feed of 500 broken links should not bury the page


def web_address(text: str | None) -> str:
    """The http(s) address typed in the box; a ValueError saying what to type otherwise. Nothing else is
    handed to ``RAG.ingest``: a bare word there would be read as a path on the server."""
    address = (text or "").strip()
    if not address:
        raise ValueError("Type a web address first, e.g. https://example.com/news/story.")
    if any(c.isspace() for c in address):
        raise ValueError("One web address at a time: the box holds spaces or several lines.")
    try:
        parts = urlsplit(address)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a broken IPv6 host, a bad port
        ok = False
    if not ok:
        raise ValueError(f"“{address[:200]}” is not a web address: give the full address, starting with "
                         "http:// or https://.")
    return address


def feed_rows(feeds: list[Feed]) -> list[list[str]]:
    """Rows of the feeds table (plain text cells). The counts are the last sync's, shown only when that sync
    read the feed: after a feed that failed to load, the old counts would pass for the new ones."""
    rows = []
    for feed in feeds:
        when = feed.last_sync.strftime("%Y-%m-%d %H:%M UTC") if feed.last_sync else "never"
        read = feed.last_ok is not None and feed.last_ok == feed.last_sync
        counts = [str(n) for n in (feed.items, feed.new, feed.updated, feed.unchanged, feed.failed)]
        rows.append([feed.label, when, *(counts if read else [""] * len(counts)), feed.error or ""])
    return rows


def feed_choices(feeds: list[Feed]) -> list[tuple[str, str]]:
    """(label, URL) pairs for the "Stop following" list."""
    return [(f"{f.name} ({f.url})" if f.name else f.url, f.url) for f in feeds]


def problems(failed: list[tuple[str, str]], warnings: Sequence[str] = ()) -> list[str]:
    """One Markdown line per failed address (with its reason) and per warning, escaped, capped."""
    lines = [f"- {render.escape(url)}: {render.escape(reason)}" for url, reason in failed]
    lines += [f"- warning: {render.escape(w)}" for w in warnings]
    if len(lines) > MAX_FAILURE_LINES:
        lines = lines[:MAX_FAILURE_LINES] + [f"- … and {len(lines) - MAX_FAILURE_LINES} more"]
    return lines


def sync_summary(report: SyncReport) -> list[str]:
    """The summary of a sync: its counts, then its failures and warnings."""
    return [render.escape(report.summary()),
            *problems([(f.url, f.reason) for f in report.failed], report.warnings)]


class WebLibrary:
    """Fetching and feeds for the page; one instance serves every session."""

    def __init__(self, rag: RAG, write_lock: threading.Lock) -> None:
        self.rag = rag
        self._write_lock = write_lock

    def fetch(self, address: str | None, request: gr.Request | None = None,
              progress: gr.Progress = gr.Progress(track_tqdm=True)) -> str:
        """Fetch one article page and index it as added by the logged-in user (or 'anonymous'), like an
        upload, so its citations say who brought it in."""
        try:
            url = web_address(address)
        except ValueError as exc:
            return render.escape(str(exc))
        upload = Upload.now(getattr(request, "username", None))
        with self._write_lock:
            try:
                report: IngestReport = self.rag.ingest([url], progress=True, upload=upload)
            except Exception as exc:
                return f"**Fetch failed.** {render.escape(readable(exc))}"
        done = report.added + report.updated + report.unchanged
        head = "**Fetched and indexed.**" if done else "**Nothing was indexed.**"
        return "\n".join([f"{head} {render.escape(report.summary())}",
                          *problems([(s.path, s.reason) for s in report.skipped], report.warnings)])

    def follow(self, address: str | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> str:
        """Follow a feed and sync it at once, so its articles are in the Library when this returns. An address
        whose first read shows it is no feed (an article page, a 404) is not kept; one that fails for now (a
        timeout, 5xx) stays followed, and the summary says how to undo it.
        Its articles are the feed's, not the user's: unlike a fetched article they are not marked as added
        by anyone, now or at later syncs."""
        try:
            url = web_address(address)
        except ValueError as exc:
            return render.escape(str(exc))
        with self._write_lock:
            try:
                known = {f.url for f in self.rag.feeds()}
                feed = self.rag.add_feed(url)
                report = self.rag.sync(progress=True, feeds=[feed.url])
                feed = next((f for f in self.rag.feeds() if f.url == feed.url), feed)  # named by its channel now
            except Exception as exc:
                return f"**Follow failed.** {render.escape(readable(exc))}"
        unread = next((f for f in report.failed if f.url == feed.url), None)  # the feed itself, not an article
        if unread is not None and not unread.transient and feed.url not in known:
            with self._write_lock:  # an article page, a dead link, not a feed: following it would only fail
                self.rag.remove_feed(feed.url)
            return (f"**Not followed:** {render.escape(feed.url)} could not be read as a feed "
                    f"({render.escape(unread.reason)}).")
        head = "Already following" if feed.url in known else "Following"
        counts, *failures = sync_summary(report)
        lines = [f"**{head} {render.escape(feed.label)}.** Synced now: {counts}", *failures]
        if unread is not None:  # for now (a timeout, 5xx): worth another try
            lines += ["", "The feed could not be read just now; it stays followed and the next sync tries again. "
                          "If the address is wrong, stop following it below."]
        return "\n".join(lines)

    def sync_all(self, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> str:
        """Sync every followed feed once."""
        with self._write_lock:
            try:
                if not self.rag.feeds():
                    return "No feeds followed yet: type a feed's address above and press **Follow feed**."
                report = self.rag.sync(progress=True)
            except Exception as exc:
                return f"**Sync failed.** {render.escape(readable(exc))}"
        counts, *failures = sync_summary(report)
        return "\n".join([f"**Synced.** {counts}", *failures])

    def stop_following(self, urls: list[str] | None) -> str:
        """Stop following the chosen feeds; their articles stay indexed."""
        if not urls:
            return "Choose the feeds to stop following first."
        stopped: list[Feed] = []
        gone: list[str] = []
        with self._write_lock:
            for url in urls:
                try:
                    stopped.append(self.rag.remove_feed(url))
                except UnknownFeedError:  # stopped in another window since this page listed it: done already
                    gone.append(url)
                except Exception as exc:
                    done = f" (stopped {len(stopped)} before it)" if stopped else ""
                    return f"**Stop following failed.** {render.escape(readable(exc))}{done}"
        names = ", ".join(render.escape(f.label) for f in stopped) or "none"
        lines = [(f"**Stopped following {len(stopped)} feed(s):** {names}. Their articles stay indexed: remove "
                  "them with **Remove from index** if you no longer want them.")]
        lines += [f"- {render.escape(url)}: was no longer followed (stopped in another window?)" for url in gone]
        return "\n".join(lines)

