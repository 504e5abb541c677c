"""One origin's robots.txt verdict (RFC 9309), for the fetcher to ask before each page or feed.

Parsed by protego rather than urllib.robotparser, which ignores the ``*`` and ``$`` wildcards (so
``Disallow: /*.xml$`` allowed /feed.xml) and applies the first matching rule where RFC 9309 says the
longest match wins, Allow on a tie.
"""

from __future__ import annotations

from protego import Protego

from ..errors import FetchError


def product_token(user_agent: str) -> str:
    """"newsrag" from "newsrag/0.1 (news Q&A indexer)": robots.txt groups name crawlers by this token."""
    words = user_agent.split()
    return words[0].split("/")[0] if words else ""


class Robots:
    """Rules read from a robots.txt, or allow-all/disallow-all with why (no file, or none readable)."""

    def __init__(self, rules: Protego | None, allow_all: bool, why: str = "", transient: bool = False) -> None:
        self.rules, self.allow_all, self.why = rules, allow_all, why
        self.transient = transient  # disallowing only because the file could not be read for now (5xx, timeout)

    @classmethod
    def parse(cls, body: bytes) -> Robots:
        return cls(Protego.parse(body.decode("utf-8", errors="replace")), allow_all=True)

    @classmethod
    def unreadable(cls, host: str, error: FetchError) -> Robots:
        """RFC 9309 2.3.1: a 4xx means no rules; a 5xx, a 429 or no answer at all means disallow everything."""
        if error.status is not None and 400 <= error.status < 500 and error.status != 429:
            return cls(None, allow_all=True)
        return cls(None, allow_all=False, why=f"robots.txt of {host} could not be read ({error.reason}), "
                                              "which RFC 9309 treats as disallowing everything",
                   transient=error.transient)

    def allows(self, user_agent: str, url: str) -> bool:
        """Whether the group for ``user_agent``'s product token (else the ``*`` group) lets ``url`` be fetched."""
        if self.rules is None:
            return self.allow_all
        return self.rules.can_fetch(url, product_token(user_agent))
