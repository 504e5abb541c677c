"""Throttles for a page on a network: failed logins, and how much work one client may queue.

Both are in-memory and per process (one page is one process); both take the clock as an argument so tests
need not wait. Keys are strings such as ``"client:10.0.0.7"`` or ``"user:alice"``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


class LoginThrottle:
    """Failed logins per client and per user name: after ``free`` failures, each further attempt must wait a
    lockout that doubles with every failure (1 s, 2 s, 4 s ... up to ``max_lock_s``), the right password
    included; a success clears the key, and failures are forgotten ``max_lock_s`` after the last one.

    Doubling lockouts are OWASP's advice against online guessing: of 30 wrong passwords sent at once only
    ``free`` are checked (``attempt`` counts each before it is checked, so parallel tries cannot race past),
    and every later try doubles the wait; a user who mistypes twice is never slowed.
    """

    def __init__(self, free: int = 5, max_lock_s: float = 900.0, clock: Callable[[], float] = time.monotonic):
        self.free, self.max_lock_s, self.clock = free, max_lock_s, clock
        self._seen: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def wait(self, keys: Iterable[str]) -> float:
        """Seconds until any of ``keys`` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            return max((self._wait(self._seen.get(k), now) for k in keys), default=0.0)

    def attempt(self, keys: Iterable[str]) -> float:
        """Reserve one try for ``keys``: 0 and counted as a failure (``succeeded`` clears it) when allowed,
        else the seconds to wait, not counted."""
        keys = list(keys)
        with self._lock:
            wait = max((self._wait(self._seen.get(k), self.clock()) for k in keys), default=0.0)
            if wait:
                return wait
            self._fail(keys, self.clock())
        return 0.0

    def failed(self, keys: Iterable[str]) -> None:
        with self._lock:
            self._fail(keys, self.clock())

    def _fail(self, keys: Iterable[str], now: float) -> None:
        for key in keys:
            seen = self._seen.get(key)
            if seen is None or now - seen.last > self.max_lock_s:
                seen = self._seen[key] = _Failures()
            seen.count, seen.last = seen.count + 1, now
        if len(self._seen) > 10_000:  # a flood of names: forget the expired ones, keep memory bounded
            self._seen = {k: v for k, v in self._seen.items() if now - v.last <= self.max_lock_s}

    def succeeded(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._seen.pop(key, None)

    def _wait(self, seen: _Failures | None, now: float) -> float:
        if seen is None or seen.count < self.free:
            return 0.0
        lock = min(2.0 ** (seen.count - self.free), self.max_lock_s)
        return max(0.0, seen.last + lock - now)


class JobBudget:
    """How many jobs each client may queue: a token bucket of ``burst`` jobs, refilled by one every
    ``refill_s`` seconds. A person asking questions never meets it; a script sending 300 questions in
    2 s gets ``burst`` of them queued and the rest refused, so other users' questions wait behind at most
    ``burst`` of its jobs (in LLM mode each job is a paid call)."""

    def __init__(self, burst: int = 8, refill_s: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.burst, self.refill_s, self.clock = burst, refill_s, clock
        self._tokens: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one job of ``key``'s budget: 0 when granted, else the seconds until one is free."""
        now = self.clock()
        with self._lock:
            tokens, then = self._tokens.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) / self.refill_s)
            if tokens >= 1.0:
                self._tokens[key] = (tokens - 1.0, now)
                return 0.0
            self._tokens[key] = (tokens, now)
            if len(self._tokens) > 10_000:
                self._tokens = {k: v for k, v in self._tokens.items()  # forget the full buckets
                                if v[0] + (now - v[1]) / self.refill_s < self.burst}
            return (1.0 - tokens) * self.refill_s
