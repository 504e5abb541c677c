"""Hostile web input, measured: each case fetched (and, for feeds, parsed) as `rag sync` would, on a loopback
site, with its outcome, time and peak Python memory beside a plain 50 KB article's as the reference.

    python -m bench.web_hostile            # prints the table, writes bench/web_hostile.json and the README's table

Limits are the defaults (RAG_FETCH_MAX_MB=10, RAG_FETCH_RETRIES=2) except the total time per fetch, cut to
3 s so the endless slow stream ends quickly (the default 60 s ends it the same way, later). Memory is
tracemalloc's peak during the case: Python allocations, which is where a body or a parsed feed lives.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path
from typing import Callable

from eval.figures import replace_between
from rag import Settings
from rag.errors import FeedError, FetchError
from rag.web.feeds import parse_feed
from rag.web.fetch import Fetcher, FetchPolicy
from tests.fixtures.news_site import FERRY, rss
from tests.fixtures.web_server import WebSite

OUT = Path(__file__).with_name("web_hostile.json")
README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- web-hostile:start -->", "<!-- web-hostile:end -->"


def _policy(**overrides) -> FetchPolicy:
    settings = Settings(_env_file=None, fetch_host_interval_s=0, fetch_backoff_s=0, fetch_total_s=3,
                        fetch_allow_networks="127.0.0.1", **overrides)
    return FetchPolicy.from_settings(settings)


def _cases(site: WebSite) -> list[tuple[str, Callable[[Fetcher], str]]]:
    article = FERRY.html(site).replace("</article>", "<p>" + "More of the story. " * 2_600 + "</p></article>")
    site.add("/article", article, etag=True)
    site.add("/bad.xml", "<rss><channel><item><title>x</ti", "application/rss+xml")
    items = [(f"/old/{i}", f"Story {i}", "Mon, 05 May 2025 08:00:00 GMT", None) for i in range(10_000)]
    site.add("/big.xml", rss(site, items), "application/rss+xml")
    site.redirect("/loop-a", "/loop-b")
    site.redirect("/loop-b", "/loop-a")
    site.status("/gone", 404)
    site.status("/broken", 500)
    site.slow("/slow")
    site.huge("/huge")
    site.add("/photo", b"\x89PNG\r\n\x1a\n" + b"0" * 50_000, "image/png")
    bomb = site.bomb("/bomb", decoded_mb=1024)

    def page(path: str) -> Callable[[Fetcher], str]:
        return lambda f: f"{len(f.get(path if '://' in path else site.url(path)).content):,} bytes"

    def feed(path: str) -> Callable[[Fetcher], str]:
        def run(f: Fetcher) -> str:
            got = f.get(site.url(path), "feed")
            parsed = parse_feed(got.content, got.final_url, 100, got.media_type)
            return f"{parsed.total:,} items, newest {len(parsed.items)} kept"
        return run

    return [
        ("reference: a 50 KB article", page("/article")),
        ("malformed feed XML", feed("/bad.xml")),
        ("feed of 10,000 items", feed("/big.xml")),
        ("redirect loop", page("/loop-a")),
        ("404", page("/gone")),
        ("500 (retried twice)", page("/broken")),
        ("endless slow stream", page("/slow")),
        ("endless huge page", page("/huge")),
        ("wrong content type (PNG)", page("/photo")),
        (f"gzip bomb ({bomb / 1e6:.1f} MB -> 1 GB)", page("/bomb")),
        ("item at 169.254.169.254", page("http://169.254.169.254/latest/meta-data/")),
        ("item at 127.0.0.2 (loopback)", page(f"http://127.0.0.2:{site.port}/x")),
    ]


def _once(run: Callable[[Fetcher], str]) -> tuple[str, float]:
    with Fetcher(_policy()) as fetcher:
        started = time.perf_counter()
        try:
            outcome = "ok: " + run(fetcher)
        except (FetchError, FeedError) as exc:
            outcome = f"refused: {getattr(exc, 'reason', exc)}"
        return outcome, time.perf_counter() - started


def main() -> None:
    rows = []
    with WebSite() as site:
        for name, run in _cases(site):
            outcome, seconds = _once(run)  # timed without tracemalloc, which slows parsing about twofold
            tracemalloc.start()
            _once(run)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            rows.append({"case": name, "outcome": outcome, "seconds": round(seconds, 2), "peak_mb": round(peak / 1e6, 1)})
    reference = rows[0]["peak_mb"] or 0.1
    for row in rows:
        row["peak_vs_reference"] = round(row["peak_mb"] / reference, 1)
    OUT.write_text(json.dumps(rows, indent=1) + "\n")
    table = "\n".join(["| case | outcome | seconds | peak MB | peak / reference |", "|---|---|---|---|---|"] + [
        f"| {r['case']} | {r['outcome'][:110]} | {r['seconds']} | {r['peak_mb']} | {r['peak_vs_reference']} |"
        for r in rows])
    print(table)
    README.write_text(replace_between(README.read_text(encoding="utf-8"), START, END, table), encoding="utf-8")


if __name__ == "__main__":
    main()
