"""The one HTTP fetcher: every page, feed and robots.txt the project reads comes through ``Fetcher.get``.

One fetcher, because the rules that keep fetching safe and polite hold only if nothing else opens
connections: the address rule (``addresses.py``), size and time caps that a gzip bomb or an endless
stream cannot get past, robots.txt, a pause between requests to one host, bounded retries. Redirects are
followed here, hop by hop, so each hop passes every rule.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import urljoin

import httpx

from ..config import Settings
from ..errors import BlockedAddressError, FetchError, RobotsDisallowedError
from .addresses import (
    AddressRefused,
    GuardedBackend,
    Resolver,
    Unresolvable,
    guarded_transport,
    system_resolver,
    time_limit,
)
from .content import Decoder, PageKind, content_type, sniff_fits, type_fits
from .robots import Robots

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_RETRY_WAIT_S = 30.0
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309: parse at least 500 KiB; what is beyond may be ignored
ACCEPT = {
    "page": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1",
    "robots": "text/plain,*/*;q=0.1",
}
_WHAT = {"page": "a web page", "feed": "a feed", "robots": "a robots.txt"}


@dataclass(frozen=True)
class FetchPolicy:
    """How ``Fetcher`` fetches; ``from_settings`` reads it from the RAG_FETCH_* settings."""

    user_agent: str
    timeout_s: float          # connect and per-read timeout
    total_s: float            # one get: DNS, connect, TLS, headers, body, redirects; not waits (retries, politeness)
    max_bytes: int            # decoded body cap (after gzip/deflate); also applied to raw bytes
    max_redirects: int = 5
    retries: int = 2          # on connect errors, timeouts, 429, 500, 502, 503, 504
    backoff_s: float = 0.5    # doubling each retry; a Retry-After is honoured instead, capped at 30 s
    host_interval_s: float = 1.0  # at least this long between request starts to one host
    allow_private: bool = False
    robots: bool = True       # honour robots.txt (RFC 9309) for page and feed fetches
    allow_networks: tuple[str, ...] = ()  # internal addresses allowed all the same ("10.1.2.0/24", "127.0.0.1")

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            user_agent=settings.fetch_user_agent, timeout_s=settings.fetch_timeout_s,
            total_s=settings.fetch_total_s, max_bytes=int(settings.fetch_max_mb * 1_000_000),
            retries=settings.fetch_retries, backoff_s=settings.fetch_backoff_s,
            host_interval_s=settings.fetch_host_interval_s, allow_private=settings.fetch_allow_private,
            robots=settings.fetch_robots,
            allow_networks=tuple(n.strip() for n in settings.fetch_allow_networks.split(",") if n.strip()),
        )


@dataclass(frozen=True)
class Fetched:
    url: str                  # as asked
    final_url: str            # after redirects
    status: int               # 200 or 304
    content: bytes            # decoded body; b"" on 304
    media_type: str           # e.g. "text/html", lower case, no parameters ("" if none sent)
    charset: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        """The server said the copy we have (by ETag or date) is current: nothing to re-read."""
        return self.status == 304


@dataclass
class FetchStats:
    """What a Fetcher has done so far, for progress lines and summaries."""

    requests: int = 0         # HTTP requests attempted: robots.txt, redirect hops and retries included
    not_modified: int = 0     # 304 answers
    bytes: int = 0            # body bytes received, as sent (compressed)
    retries: int = 0


class _OutOfTime(Exception):
    """The get's ``total_s`` ran out; caught in ``get`` and reported with the URL asked."""


class _Budget:
    """``total_s`` for one get, on the injectable clock; time spent in waits is given back."""

    def __init__(self, clock: Callable[[], float], total_s: float) -> None:
        self.clock = clock
        self.deadline = clock() + total_s

    def left(self) -> float:
        return self.deadline - self.clock()

    def timeout(self, per_read: float) -> float:
        left = self.left()
        if left <= 0:
            raise _OutOfTime
        return min(per_read, left)

    def check(self) -> None:
        if self.clock() >= self.deadline:
            raise _OutOfTime

    def wait(self, sleep: Callable[[float], None], seconds: float) -> None:
        before = self.clock()
        sleep(seconds)
        self.deadline += self.clock() - before


class Fetcher:
    """Fetches pages, feeds and robots.txt under a ``FetchPolicy``; safe to share between threads.

    ``sleep`` and ``clock`` are injectable so tests of waits and deadlines need no real waiting;
    ``resolver`` (host, port -> addresses) so tests need no DNS.
    """

    def __init__(self, policy: FetchPolicy, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self.stats = FetchStats()
        self._sleep, self._clock = sleep, clock
        self._lock = threading.Lock()
        self._next_start: dict[str, float] = {}
        self._robots: dict[str, Robots] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        backend = GuardedBackend(policy.allow_private, policy.allow_networks, resolver)
        # redirects by hand so each hop passes every rule; no proxies or .netrc from the environment: a proxy
        # would connect on our behalf past the address rule (see guarded_transport)
        self._client = httpx.Client(
            transport=guarded_transport(backend), follow_redirects=False, trust_env=False,
            headers={"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, kind: PageKind = "page", etag: str | None = None,
            last_modified: str | None = None) -> Fetched:
        """GET ``url`` as ``kind``, following redirects; raises ``FetchError`` (or a subclass) naming ``url``.

        With ``etag``/``last_modified`` from an earlier fetch the request is conditional, and an unchanged
        resource comes back as ``status=304`` with no content.
        """
        headers = {"Accept": ACCEPT[kind]}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        budget = _Budget(self._clock, self.policy.total_s)
        seen: set[str] = set()
        current = url
        try:
            for hop in range(self.policy.max_redirects + 1):
                where = f"redirected to {current}: " if hop else ""  # what an error says before its reason
                target = self._checked(url, current, where, seen)
                if kind != "robots" and self.policy.robots:
                    self._obey_robots(url, target, where)
                outcome = self._attempts(url, target, where, kind, headers, budget)
                if isinstance(outcome, Fetched):
                    if outcome.status == 304:  # a 304 need not repeat the validators: keep the ones sent
                        outcome = replace(outcome, etag=outcome.etag or etag,
                                          last_modified=outcome.last_modified or last_modified)
                    return outcome
                current = outcome
        except _OutOfTime:
            raise FetchError(url, f"took longer than {self.policy.total_s:g} s in all (RAG_FETCH_TOTAL_S)",
                             fix="try again later, or raise RAG_FETCH_TOTAL_S", transient=True) from None
        raise FetchError(url, f"more than {self.policy.max_redirects} redirects",
                         fix="open the URL in a browser and use the address it ends at")

    # --- one hop -----------------------------------------------------------------------------------

    def _checked(self, url: str, current: str, where: str, seen: set[str]) -> httpx.URL:
        """The hop as an absolute http(s) URL not visited before in this get."""
        try:
            target = httpx.URL(current)
        except (httpx.InvalidURL, ValueError) as exc:
            raise FetchError(url, f"{where}not a valid URL ({exc})", fix="check the URL") from None
        if target.scheme not in ("http", "https"):
            scheme = f"{target.scheme}:" if target.scheme else "a URL without a scheme"
            raise FetchError(url, f"{where}only http and https URLs are fetched, not {scheme}",
                             fix="give an http:// or https:// URL")
        if not target.host:
            raise FetchError(url, f"{where}the URL has no host", fix="check the URL")
        target = target.copy_with(fragment=None)
        if str(target) in seen:
            raise FetchError(url, f"redirect loop (back to {target})",
                             fix="the site redirects in a circle: tell its owner, or use another URL")
        seen.add(str(target))
        return target

    def _attempts(self, url: str, target: httpx.URL, where: str, kind: PageKind, headers: dict[str, str],
                  budget: _Budget) -> Fetched | str:
        """One hop with retries: a ``Fetched``, or the absolute URL a redirect points to."""
        for attempt in range(self.policy.retries + 1):
            final = attempt == self.policy.retries
            self._wait_turn(target.host, budget)
            with self._lock:
                self.stats.requests += 1
            try:  # the limit holds inside the connection too: DNS, connect, TLS, headers, each body read
                with time_limit(budget.left), self._client.stream(
                        "GET", target, headers=headers, timeout=budget.timeout(self.policy.timeout_s)) as response:
                    if response.status_code not in RETRY_STATUSES or final:
                        return self._answer(url, target, where, kind, response, budget)
                    wait = self._retry_wait(attempt, response.headers.get("retry-after"))
            except AddressRefused as exc:
                raise BlockedAddressError(url, f"{where}{exc}") from None
            except Unresolvable as exc:
                if final or not exc.transient:
                    raise FetchError(url, f"{where}{exc}", fix="check the host name in the URL",
                                     transient=exc.transient) from None
                wait = self._retry_wait(attempt, None)
            except (httpx.ConnectError, httpx.TimeoutException) as exc:
                budget.check()
                if final:
                    what = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not connect"
                    raise FetchError(url, f"{where}{what} ({exc or type(exc).__name__})", transient=True) from None
                wait = self._retry_wait(attempt, None)
            except httpx.HTTPError as exc:  # a reset or an answer cut short may go next time; a client bug not
                dropped = isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError))
                raise FetchError(url, f"{where}network error ({exc or type(exc).__name__})",
                                 transient=dropped) from None
            with self._lock:
                self.stats.retries += 1
            budget.wait(self._sleep, wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _answer(self, url: str, target: httpx.URL, where: str, kind: PageKind, response: httpx.Response,
                budget: _Budget) -> Fetched | str:
        status = response.status_code
        if status in REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                raise FetchError(url, f"{where}HTTP {status} redirect without a Location header", status=status)
            try:  # urljoin, not httpx's join, so that a file:///x target is named as the server sent it
                return urljoin(str(target), location.strip())
            except ValueError:
                raise FetchError(url, f"{where}redirect to an invalid URL {location!r}", status=status) from None
        media_type, charset = content_type(response.headers.get("content-type", ""))
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        if status == 304:
            with self._lock:
                self.stats.not_modified += 1
            return Fetched(url, str(target), 304, b"", media_type, charset, etag, modified)
        if status != 200:
            raise FetchError(url, f"{where}HTTP {status} {_phrase(response)}".rstrip(), fix=_status_fix(status),
                             status=status)
        if media_type and not type_fits(kind, media_type):
            raise FetchError(url, f"{where}content type {media_type} is not {_WHAT[kind]}",
                             fix=f"give the URL of {_WHAT[kind]}")
        content = self._read(url, where, kind, response, budget)
        if not media_type and not sniff_fits(kind, content):
            raise FetchError(url, f"{where}no content type, and the body does not look like {_WHAT[kind]}",
                             fix=f"give the URL of {_WHAT[kind]}")
        return Fetched(url, str(target), 200, content, media_type, charset, etag, modified)

    def _read(self, url: str, where: str, kind: PageKind, response: httpx.Response, budget: _Budget) -> bytes:
        """The decoded body, never holding more than the cap (plus one read) in memory.

        robots.txt is cut at 512 KiB instead of refused, as RFC 9309 allows; anything else over the cap
        is refused.
        """
        cap = min(self.policy.max_bytes, ROBOTS_MAX_BYTES) if kind == "robots" else self.policy.max_bytes
        size = f"{cap / 1_000_000:.1f} MB" if cap >= 100_000 else f"{cap:,}-byte"
        too_large = FetchError(url, f"{where}over the {size} limit (RAG_FETCH_MAX_MB)",
                               fix="raise RAG_FETCH_MAX_MB if this page is really that large")
        declared = response.headers.get("content-length", "")
        if kind != "robots" and declared.isdigit() and int(declared) > cap:
            raise too_large
        try:
            decoder = Decoder(response.headers.get("content-encoding", ""))
        except ValueError as exc:
            raise FetchError(url, f"{where}{exc}", fix="the server must send gzip, deflate or no encoding") from None
        body, raw = bytearray(), 0
        try:
            for chunk in response.iter_raw():
                raw += len(chunk)
                with self._lock:
                    self.stats.bytes += len(chunk)
                if raw > cap and kind != "robots":
                    raise too_large
                decoder.feed(chunk, body, cap + 1)
                if len(body) > cap:
                    if kind == "robots":
                        return bytes(body[:cap])
                    raise too_large
                budget.check()
            decoder.feed(b"", body, cap + 1, last=True)
        except zlib.error as exc:
            raise FetchError(url, f"{where}the compressed body is corrupt ({exc})") from None
        if len(body) > cap:
            if kind == "robots":
                return bytes(body[:cap])
            raise too_large
        return bytes(body)

    # --- politeness ---------------------------------------------------------------------------------

    def _wait_turn(self, host: str, budget: _Budget) -> None:
        """Hold this request until ``host_interval_s`` after the last one to the host started (or was booked)."""
        interval = self.policy.host_interval_s
        if interval <= 0:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + interval
        if start > now:
            budget.wait(self._sleep, start - now)

    def _retry_wait(self, attempt: int, retry_after: str | None) -> float:
        seconds = _retry_after_s(retry_after)
        if seconds is None:
            seconds = self.policy.backoff_s * 2 ** attempt
        return min(max(seconds, 0.0), MAX_RETRY_WAIT_S)

    def _obey_robots(self, url: str, target: httpx.URL, where: str) -> None:
        origin = f"{target.scheme}://{target.netloc.decode('ascii')}"
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:  # one fetch of an origin's robots.txt, however many threads ask at once
            robots = self._robots.get(origin)
            if robots is None:
                robots = self._robots[origin] = self._read_robots(url, target, where)
        if not robots.allows(self.policy.user_agent, str(target)):
            why = robots.why or f"robots.txt of {target.host} disallows it"
            raise RobotsDisallowedError(url, f"{where}{why}", transient=robots.transient)

    def _read_robots(self, url: str, target: httpx.URL, where: str) -> Robots:
        """RFC 9309: rules from a 2xx; see ``Robots.unreadable`` for the rest."""
        try:
            fetched = self.get(str(target.copy_with(path="/robots.txt", query=None)), kind="robots")
        except BlockedAddressError as exc:  # the host itself is internal: say so about the URL asked for
            raise BlockedAddressError(url, f"{where}{exc.reason}") from None
        except FetchError as exc:
            if exc.status is None and not isinstance(exc, RobotsDisallowedError):
                # no answer at all (refused, unresolvable, timed out): the host is down, which is what to say,
                # not that its robots.txt forbids anything (RFC 9309 would treat it as disallowing everything)
                raise FetchError(url, f"{where}no answer from {target.host} ({exc.reason})",
                                 transient=exc.transient) from None
            return Robots.unreadable(target.host, exc)
        return Robots.parse(fetched.content)


def _phrase(response: httpx.Response) -> str:
    try:
        return response.reason_phrase or HTTPStatus(response.status_code).phrase
    except ValueError:
        return ""


def _status_fix(status: int) -> str:
    if status in (404, 410):
        return "the page is gone or the URL is wrong: check it in a browser"
    if status in (401, 403):
        return "the site refuses this client (it may need a login); fetch another source"
    if status == 429:
        return "the site asks for fewer requests: try later, or raise RAG_FETCH_HOST_INTERVAL_S"
    if status >= 500:
        return "the site has a problem: try again later"
    return FetchError.fix


def _retry_after_s(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number, or an HTTP date from now; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - datetime.now(timezone.utc)).total_seconds()
