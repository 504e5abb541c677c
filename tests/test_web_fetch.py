"""The one HTTP fetcher against a real loopback web site: caps, redirects, retries, robots.txt, the SSRF rule.

No test waits on purpose: retries and politeness sleep through a recording fake, and the few real-time
limits (an endless stream, a read timeout) are small, with the assertion on the error, never on the time.
The site is on 127.0.0.1, which the address rule refuses, so most tests allow exactly that address
(``allow_networks``) and keep the rule on for everything else.
"""

from __future__ import annotations

import gzip
import socket
import threading
import tracemalloc
import zlib

import httpx
import pytest

from rag import Settings
from rag.errors import BlockedAddressError, FetchError, RagError, RobotsDisallowedError
from rag.web import addresses
from rag.web.addresses import GuardedBackend, address_kind, guarded_transport
from rag.web.fetch import Fetcher, FetchPolicy
from tests.fixtures.net import free_port
from tests.fixtures.web_server import WebSite

UA = "newsrag-test/1.0 (tests)"
PAGE = "<!DOCTYPE html><html><head><title>T</title></head><body><p>Hello.</p></body></html>"
RSS = '<?xml version="1.0"?><rss version="2.0"><channel><title>F</title></channel></rss>'


def policy(**changes) -> FetchPolicy:
    values = dict(user_agent=UA, timeout_s=5.0, total_s=20.0, max_bytes=1_000_000, host_interval_s=0.0,
                  allow_networks=("127.0.0.1/32",), retries=2, backoff_s=0.5)
    values.update(changes)
    return FetchPolicy(**values)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fetcher(sleeps):
    """A fetcher whose waits are recorded, not slept; ``fetcher(**policy changes)``."""
    made: list[Fetcher] = []

    def make(**changes) -> Fetcher:
        made.append(Fetcher(policy(**changes), sleep=sleeps.append))
        return made[-1]
    yield make
    for f in made:
        f.close()


# --- plain fetches and conditional GET ---------------------------------------------------------------

def test_a_page_comes_back_with_its_type_charset_and_validators(site, fetcher):
    site.add("/a", PAGE, "text/html; charset=ISO-8859-1", etag=True, last_modified=True)
    f = fetcher()
    got = f.get(site.url("/a"))
    assert (got.status, got.content, got.media_type, got.charset) == (200, PAGE.encode(), "text/html", "iso-8859-1")
    assert got.url == got.final_url == site.url("/a") and not got.not_modified
    assert got.etag and got.last_modified
    sent = site.requests[-1].headers
    assert sent["user-agent"] == UA and sent["accept-encoding"] == "gzip, deflate"
    assert f.stats.requests == 2 and f.stats.bytes == len(PAGE)  # robots.txt (404) and the page


def test_an_unchanged_page_answers_304_by_etag(site, fetcher):
    site.add("/a", PAGE, etag=True)
    f = fetcher()
    first = f.get(site.url("/a"))
    again = f.get(site.url("/a"), etag=first.etag)
    assert again.not_modified and again.status == 304 and again.content == b"" and again.etag == first.etag
    assert site.requests[-1].headers["if-none-match"] == first.etag
    assert site.count("/a", status=304) == 1 and f.stats.not_modified == 1
    site.add("/a", PAGE + "<!-- changed -->", etag=True)
    changed = f.get(site.url("/a"), etag=first.etag)
    assert changed.status == 200 and changed.etag != first.etag


def test_an_unchanged_page_answers_304_by_last_modified(site, fetcher):
    site.add("/a", PAGE, last_modified="Wed, 01 Jan 2025 08:00:00 GMT")
    f = fetcher()
    first = f.get(site.url("/a"))
    again = f.get(site.url("/a"), last_modified=first.last_modified)
    assert again.not_modified and again.last_modified == first.last_modified
    assert site.requests[-1].headers["if-modified-since"] == first.last_modified


def test_gzip_and_deflate_bodies_are_decoded(site, fetcher):
    site.add("/g", PAGE, encoding="gzip")
    site.add("/d", PAGE, encoding="deflate")
    f = fetcher()
    assert f.get(site.url("/g")).content == PAGE.encode()
    assert f.get(site.url("/d")).content == PAGE.encode()


def test_raw_deflate_and_multi_member_gzip_are_decoded(site, fetcher):
    """Some servers send deflate without its zlib wrapper, or gzip in several members; browsers read both."""
    squeeze = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    site.add("/raw", squeeze.compress(PAGE.encode()) + squeeze.flush(), headers={"Content-Encoding": "deflate"})
    half = len(PAGE) // 2
    members = gzip.compress(PAGE[:half].encode()) + gzip.compress(PAGE[half:].encode())
    site.add("/members", members, headers={"Content-Encoding": "gzip"})
    f = fetcher()
    assert f.get(site.url("/raw")).content == PAGE.encode()
    assert f.get(site.url("/members")).content == PAGE.encode()


def test_an_unknown_content_encoding_is_refused(site, fetcher):
    site.add("/b", PAGE, headers={"Content-Encoding": "br"})
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        fetcher().get(site.url("/b"))


# --- redirects ----------------------------------------------------------------------------------------

def test_redirects_are_followed_hop_by_hop(site, fetcher):
    site.add("/news/story", PAGE)
    site.redirect("/old", "/moved/", 301)
    site.redirect("/moved/", "../news/story", 308)  # relative to /moved/
    got = fetcher().get(site.url("/old"))
    assert got.url == site.url("/old") and got.final_url == site.url("/news/story") and got.status == 200
    assert site.paths() == ["/robots.txt", "/old", "/moved/", "/news/story"]


def test_a_redirect_loop_is_named(site, fetcher):
    site.redirect("/a", "/b")
    site.redirect("/b", site.url("/a"))
    with pytest.raises(FetchError, match=r"redirect loop \(back to http://127.0.0.1:\d+/a\)"):
        fetcher().get(site.url("/a"))
    assert site.count("/a") == 1 and site.count("/b") == 1


def test_too_many_redirects(site, fetcher):
    for n in range(7):
        site.redirect(f"/r{n}", f"/r{n + 1}")
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher(max_redirects=3).get(site.url("/r0"))
    assert [p for p in site.paths() if p != "/robots.txt"] == ["/r0", "/r1", "/r2", "/r3"]


def test_a_redirect_to_another_scheme_is_refused(site, fetcher):
    site.redirect("/a", "file:///etc/passwd")
    with pytest.raises(FetchError, match="redirected to file:///etc/passwd: only http and https"):
        fetcher().get(site.url("/a"))


# --- statuses and retries -----------------------------------------------------------------------------

def test_404_is_not_retried(site, fetcher, sleeps):
    site.status("/gone", 404)
    with pytest.raises(FetchError) as caught:
        fetcher().get(site.url("/gone"))
    assert caught.value.status == 404 and "HTTP 404 Not Found" in str(caught.value)
    assert site.count("/gone") == 1 and sleeps == []
    site.status("/", 404)
    with pytest.raises(FetchError) as caught:  # the URL asked for, normalised to ".../", is still the first hop
        fetcher().get(f"http://127.0.0.1:{site.port}")
    assert caught.value.reason == "HTTP 404 Not Found"


def test_500_is_retried_with_exponential_backoff_then_reported(site, fetcher, sleeps):
    site.status("/broken", 500)
    f = fetcher(retries=2, backoff_s=0.5)
    with pytest.raises(FetchError, match="HTTP 500 Internal Server Error") as caught:
        f.get(site.url("/broken"))
    assert caught.value.status == 500
    assert site.count("/broken", status=500) == 3 and sleeps == [0.5, 1.0] and f.stats.retries == 2


def test_503_retry_after_is_honoured_and_capped(site, fetcher, sleeps):
    site.add("/busy", PAGE)
    site.status("/busy", 503, headers={"Retry-After": "7"}, times=1)
    site.status("/busy", 429, headers={"Retry-After": "3600"}, times=1)
    got = fetcher(retries=2).get(site.url("/busy"))
    assert got.status == 200 and sleeps == [7.0, 30.0]
    assert [r.status for r in site.requests if r.path == "/busy"] == [503, 429, 200]


def test_a_refused_connection_is_retried_then_reported(fetcher, sleeps):
    url = f"http://127.0.0.1:{free_port()}/a"
    with pytest.raises(FetchError, match="could not connect") as caught:
        fetcher(robots=False, retries=1).get(url)
    assert caught.value.status is None and sleeps == [0.5]


def test_a_silent_server_times_out_and_is_retried(site, fetcher, sleeps):
    site.slow("/silent", every_ms=2000)  # sends "<html>" and then nothing for 2 s
    with pytest.raises(FetchError, match="timed out"):
        fetcher(robots=False, retries=1, timeout_s=0.2).get(site.url("/silent"))
    assert site.count("/silent") == 2 and sleeps == [0.5]


# --- size and time caps -------------------------------------------------------------------------------

def test_a_huge_body_without_content_length_stops_at_the_cap(site, fetcher):
    site.huge("/huge")  # endless
    f = fetcher(max_bytes=200_000)
    with pytest.raises(FetchError, match=r"over the 0.2 MB limit \(RAG_FETCH_MAX_MB\)"):
        f.get(site.url("/huge"))
    assert f.stats.bytes <= 200_000 + 65_536 * 2


def test_a_declared_length_over_the_cap_is_refused_before_the_body(site, fetcher):
    site.huge("/big", size=5_000_000, declare=True)
    f = fetcher(robots=False, max_bytes=1_000_000)
    with pytest.raises(FetchError, match=r"over the 1.0 MB limit"):
        f.get(site.url("/big"))
    assert f.stats.bytes == 0


def test_a_gzip_bomb_never_expands_past_the_cap_in_memory(site, fetcher):
    compressed = site.bomb("/bomb", decoded_mb=64)
    assert compressed < 200_000
    cap = 1_000_000
    f = fetcher(robots=False, max_bytes=cap)
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="over the 1.0 MB limit"):
            f.get(site.url("/bomb"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * cap, f"peak {peak:,} bytes while decoding a 64 MB bomb with a {cap:,}-byte cap"


def test_an_endless_slow_stream_stops_at_the_total_time(site):
    site.slow("/drip", every_ms=20)  # a byte every 20 ms, forever: no read ever times out
    with Fetcher(policy(robots=False, timeout_s=5.0, total_s=0.5)) as f:  # the real clock
        with pytest.raises(FetchError, match=r"took longer than 0.5 s in all \(RAG_FETCH_TOTAL_S\)"):
            f.get(site.url("/drip"))


def test_headers_that_never_end_stop_at_the_total_time(site):
    """The limit holds before the body too: a status line and headers trickled a byte at a time, each read
    far within the 30 s read timeout, end at total_s (h11 alone would wait for 16 KB of them)."""
    site.slow_head("/head", every_ms=50)
    with Fetcher(policy(robots=False, timeout_s=30.0, total_s=1.0)) as f, pytest.raises(  # the real clock
            FetchError, match=r"took longer than 1 s in all \(RAG_FETCH_TOTAL_S\)") as caught:
        f.get(site.url("/head"))
    assert caught.value.transient and site.count("/head") == 1


def test_a_dns_lookup_that_hangs_stops_at_the_total_time(sleeps):
    """getaddrinfo takes no timeout: the lookup is waited for only as long as the get has left."""
    release = threading.Event()

    def resolver(host: str, port: int) -> list[str]:
        release.wait()  # a resolver that does not answer until the test is over
        return ["93.184.216.34"]
    try:
        with Fetcher(policy(robots=False, timeout_s=30.0, total_s=0.3), sleep=sleeps.append,
                     resolver=resolver) as f, pytest.raises(FetchError, match=r"RAG_FETCH_TOTAL_S") as caught:
            f.get("http://hanging-dns.test/a")
    finally:
        release.set()
    assert caught.value.transient and sleeps == []


# --- content types ------------------------------------------------------------------------------------

def test_a_wrong_content_type_is_refused_before_the_body(site, fetcher):
    site.add("/img", b"\x89PNG\r\n" + bytes(100_000), "image/png")
    site.add("/json", "{}", "application/json")
    f = fetcher()
    with pytest.raises(FetchError, match="content type image/png is not a web page"):
        f.get(site.url("/img"))
    with pytest.raises(FetchError, match="content type application/json is not a feed"):
        f.get(site.url("/json"), kind="feed")
    site.add("/page", PAGE)
    with pytest.raises(FetchError, match="content type text/html is not a feed"):
        f.get(site.url("/page"), kind="feed")
    assert f.stats.bytes == 0  # refused on the headers: no body read


@pytest.mark.parametrize("content_type", ["application/rss+xml", "application/atom+xml", "text/xml; charset=utf-8",
                                          "application/xml", "application/feed+xml", "text/plain",
                                          "application/vnd.example+xml"])
def test_feed_types_are_accepted(site, fetcher, content_type):
    site.add("/feed", RSS, content_type)
    assert fetcher().get(site.url("/feed"), kind="feed").content == RSS.encode()


@pytest.mark.parametrize("content_type", [None, "", "texthtml", "garbage; charset=utf-8"])
def test_a_missing_or_malformed_type_is_sniffed(site, fetcher, content_type):
    site.add("/page", "\ufeff\n  " + PAGE, content_type)
    site.add("/feed", RSS, content_type)
    site.add("/blob", b"\x00\x01binary", content_type)
    f = fetcher()
    page = f.get(site.url("/page"))
    assert page.media_type == "" and page.charset is None
    assert f.get(site.url("/feed"), kind="feed").content == RSS.encode()
    with pytest.raises(FetchError, match="no content type, and the body does not look like a web page"):
        f.get(site.url("/blob"))
    with pytest.raises(FetchError, match="does not look like a feed"):
        f.get(site.url("/page"), kind="feed")


@pytest.mark.parametrize("url, shown", [("file:///etc/passwd", "file:"), ("ftp://example.com/a", "ftp:"),
                                        ("javascript:alert(1)", "javascript:"),
                                        ("example.com/news", "a URL without a scheme")])
def test_only_http_and_https_are_fetched(fetcher, url, shown):
    with pytest.raises(FetchError) as caught:
        fetcher().get(url)
    assert str(caught.value).startswith(f"{url}: only http and https URLs are fetched, not {shown}; ")


# --- the address rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("127.5.5.5", "loopback"), ("::1", "loopback"), ("10.0.0.1", "private"),
    ("172.16.3.4", "private"), ("192.168.1.1", "private"), ("fc00::1", "private"), ("fd12::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"),
    ("::", "unspecified"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("100.64.0.1", "shared (carrier-grade NAT)"), ("240.0.0.1", "private"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"), ("::ffff:10.0.0.1", "IPv4-mapped private"),
    ("::ffff:169.254.169.254", "IPv4-mapped link-local"), ("2002:7f00:1::", "6to4 loopback"),
    ("192.0.2.1", "private"), ("::127.0.0.1", "reserved"),
    ("8.8.8.8", None), ("93.184.216.34", None), ("2606:4700:4700::1111", None), ("::ffff:8.8.8.8", None),
])
def test_address_kinds(address, kind):
    assert address_kind(address) == kind


def test_the_loopback_site_is_refused_before_any_request(site):
    url = site.url("/a")
    with Fetcher(policy(allow_networks=())) as f, pytest.raises(BlockedAddressError) as caught:
        f.get(url)
    assert str(caught.value) == (f"{url}: 127.0.0.1 is a loopback address; fetching internal addresses is "
                                 "refused (set RAG_FETCH_ALLOW_PRIVATE=true to allow it)")
    assert caught.value.url == url and caught.value.reason == "127.0.0.1 is a loopback address"
    assert isinstance(caught.value, FetchError) and isinstance(caught.value, RagError)
    assert site.requests == []  # refused at connect: not even robots.txt was asked for


def test_allow_private_lets_the_loopback_site_through(site):
    site.add("/a", PAGE)
    with Fetcher(policy(allow_networks=(), allow_private=True)) as f:
        assert f.get(site.url("/a")).status == 200


@pytest.mark.parametrize("url, reason", [
    ("http://localhost:{port}/a", "localhost resolves to 127.0.0.1, which is a loopback address"),
    ("http://[::1]:{port}/a", "::1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://[::ffff:127.0.0.1]:{port}/a", "::ffff:127.0.0.1 is an IPv4-mapped loopback address"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://0.0.0.0:{port}/", "0.0.0.0 is an unspecified address"),
])
def test_internal_addresses_are_refused(site, url, reason):
    url = url.format(port=site.port)
    with Fetcher(policy(allow_networks=(), robots=False)) as f, pytest.raises(BlockedAddressError) as caught:
        f.get(url)
    assert caught.value.reason == reason and "\n" not in str(caught.value)
    assert site.requests == []


def test_a_name_with_any_internal_address_is_refused():
    def both(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"]
    with Fetcher(policy(allow_networks=()), resolver=both) as f, pytest.raises(BlockedAddressError) as caught:
        f.get("http://mixed.example/")
    assert caught.value.reason == "mixed.example resolves to 10.1.2.3, which is a private address"


@pytest.mark.parametrize("target, reason", [
    ("http://10.0.0.1/admin", "10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://127.0.0.2:{port}/a", "127.0.0.2 is a loopback address"),
    ("http://intranet.test/", "intranet.test resolves to 10.9.8.7, which is a private address"),
])
def test_every_redirect_hop_is_checked(site, target, reason):
    """The site itself (127.0.0.1) is allowed; a hop it redirects to is checked again, robots.txt or not."""
    target = target.format(port=site.port)
    site.redirect("/go", target)

    def resolver(host: str, port: int) -> list[str]:
        return ["10.9.8.7"] if host == "intranet.test" else [host]
    for robots in (True, False):
        with Fetcher(policy(robots=robots), resolver=resolver) as f, pytest.raises(BlockedAddressError) as caught:
            f.get(site.url("/go"))
        assert caught.value.url == site.url("/go")
        assert caught.value.reason == f"redirected to {target}: {reason}"


def test_addresses_are_checked_at_connect_so_dns_rebinding_fails(site):
    """The name is resolved when each connection opens and the socket goes to the address vetted then: a
    name that later answers with an internal address is refused, and the request names the host (Host/SNI)."""
    site.add("/a", PAGE)
    answers = [["127.0.0.1"], ["10.0.0.8"]]
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return answers.pop(0)
    url = f"http://news.test:{site.port}/a"
    with Fetcher(policy(robots=False), resolver=resolver) as f:
        assert f.get(url).content == PAGE.encode()
        with pytest.raises(BlockedAddressError, match="news.test resolves to 10.0.0.8"):
            f.get(url)
    assert asked == [("news.test", site.port)] * 2
    assert site.requests[0].headers["host"] == f"news.test:{site.port}" and len(site.requests) == 1


def test_the_guard_is_wired_into_httpx_or_fails_loudly(monkeypatch):
    """guarded_transport replaces httpx's private HTTPTransport._pool; if httpx moves it, fetching stops."""
    transport = guarded_transport(GuardedBackend(allow_private=False))
    with httpx.Client(transport=transport) as client, pytest.raises(addresses.AddressRefused):
        client.get("http://127.0.0.1:1/")

    class Reshaped(httpx.HTTPTransport):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            self._connections = self.__dict__.pop("_pool")
    monkeypatch.setattr(addresses.httpx, "HTTPTransport", Reshaped)
    with pytest.raises(RuntimeError, match="pin httpx"):
        Fetcher(policy())


def test_an_unresolvable_name_is_named_and_not_retried(sleeps):
    calls = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    with Fetcher(policy(), sleep=sleeps.append, resolver=resolver) as f, pytest.raises(FetchError) as caught:
        f.get("http://nowhere.test/a", kind="robots")
    assert str(caught.value) == ("http://nowhere.test/a: cannot resolve host nowhere.test (Name or service not "
                                 "known); check the host name in the URL")
    assert calls == ["nowhere.test"] and sleeps == []


def test_a_temporary_dns_failure_is_retried(site, sleeps):
    site.add("/a", PAGE)
    answers: list = [socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), ["127.0.0.1"]]

    def resolver(host: str, port: int) -> list[str]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    with Fetcher(policy(robots=False), sleep=sleeps.append, resolver=resolver) as f:
        assert f.get(f"http://flaky-dns.test:{site.port}/a").status == 200
    assert sleeps == [0.5]


# --- robots.txt ---------------------------------------------------------------------------------------

def test_robots_disallow_is_obeyed_and_robots_is_read_once(site, fetcher):
    site.robots("User-agent: *\nDisallow: /private/\n")
    site.add("/private/x", PAGE)
    site.add("/public", PAGE)
    f = fetcher()
    with pytest.raises(RobotsDisallowedError) as caught:
        f.get(site.url("/private/x"))
    assert caught.value.reason == "robots.txt of 127.0.0.1 disallows it"
    assert "RAG_FETCH_ROBOTS=false" in str(caught.value)
    assert f.get(site.url("/public")).status == 200
    assert site.count("/robots.txt") == 1 and site.count("/private/x") == 0


def test_robots_rules_for_this_user_agent_apply(site, fetcher):
    site.robots("User-agent: otherbot\nDisallow:\n\nUser-agent: newsrag-test\nDisallow: /\n")
    site.add("/a", PAGE)
    with pytest.raises(RobotsDisallowedError):
        fetcher().get(site.url("/a"))
    assert fetcher(user_agent="otherbot/2.0").get(site.url("/a")).status == 200


def test_robots_wildcards_and_end_anchors_apply(site, fetcher):
    """RFC 9309 2.2.3: ``*`` matches any run of characters, ``$`` the end of the path (urllib ignored both)."""
    site.robots("User-agent: *\nDisallow: /*.xml$\nDisallow: /*/print\n")
    for path in ("/feed.xml", "/feed.xml?x=1", "/news/print", "/news/a", "/news/2025/print/page"):
        site.add(path, PAGE, "text/xml" if path.startswith("/feed") else "text/html")
    f = fetcher()
    for path in ("/feed.xml", "/news/print", "/news/2025/print/page"):
        with pytest.raises(RobotsDisallowedError):
            f.get(site.url(path), kind="feed" if path.endswith(".xml") else "page")
    assert f.get(site.url("/feed.xml?x=1"), kind="feed").status == 200  # $: the path must end with .xml
    assert f.get(site.url("/news/a")).status == 200


def test_robots_longest_match_wins_and_allow_wins_a_tie(site, fetcher):
    """RFC 9309 2.2.2: the most specific (longest) rule decides, not the first; Allow on a tie."""
    site.robots("User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /c/d\nAllow: /c\nDisallow: /e\nAllow: /e\n")
    for path in ("/a/b", "/a/c", "/c/d", "/c/e", "/e"):
        site.add(path, PAGE)
    f = fetcher()
    for path in ("/a/b", "/c/e", "/e"):
        assert f.get(site.url(path)).status == 200
    for path in ("/a/c", "/c/d"):
        with pytest.raises(RobotsDisallowedError):
            f.get(site.url(path))


def test_robots_group_for_the_product_token_beats_the_star_group(site, fetcher):
    """The group naming this crawler's product token (the User-Agent's first word, before "/") replaces ``*``,
    whatever its version; ``*`` applies to the others."""
    site.robots("User-agent: *\nDisallow: /\n\nUser-agent: NewsRAG-test\nAllow: /\nDisallow: /private\n")
    site.add("/a", PAGE)
    site.add("/private", PAGE)
    assert fetcher(user_agent="newsrag-test/9.9 (other words)").get(site.url("/a")).status == 200
    with pytest.raises(RobotsDisallowedError):
        fetcher().get(site.url("/private"))
    with pytest.raises(RobotsDisallowedError):
        fetcher(user_agent="otherbot/1.0").get(site.url("/a"))


def test_a_redirect_into_a_disallowed_path_is_refused(site, fetcher):
    site.robots("User-agent: *\nDisallow: /private/\n")
    site.redirect("/a", "/private/b")
    site.add("/private/b", PAGE)
    with pytest.raises(RobotsDisallowedError, match=r"redirected to http://127.0.0.1:\d+/private/b: robots.txt"):
        fetcher().get(site.url("/a"))
    assert site.count("/private/b") == 0


def test_robots_404_allows_everything(site, fetcher):
    site.robots(status=404)
    site.add("/a", PAGE)
    assert fetcher().get(site.url("/a")).status == 200


def test_robots_500_disallows_everything(site, fetcher, sleeps):
    site.robots(status=500)
    site.add("/a", PAGE)
    f = fetcher(retries=1)
    for _ in range(2):
        with pytest.raises(RobotsDisallowedError, match=r"robots.txt of 127.0.0.1 could not be read \(HTTP 500 "
                                                        r"Internal Server Error\), which RFC 9309 treats"):
            f.get(site.url("/a"))
    assert site.count("/robots.txt") == 2 and site.count("/a") == 0  # one retry, then cached


def test_robots_off_skips_robots(site, fetcher):
    site.robots("User-agent: *\nDisallow: /\n")
    site.add("/a", PAGE)
    assert fetcher(robots=False).get(site.url("/a")).status == 200
    assert site.count("/robots.txt") == 0


def test_a_big_robots_txt_is_cut_not_refused(site, fetcher):
    site.robots("User-agent: *\nDisallow: /private/\n" + "# filler\n" * 100_000)
    site.add("/a", PAGE)
    assert fetcher(max_bytes=10_000_000).get(site.url("/a")).status == 200


# --- what is worth trying again ----------------------------------------------------------------------

def _dns_error(errno: int, text: str):
    def resolver(host: str, port: int) -> list[str]:
        raise socket.gaierror(errno, text)
    return resolver


def _loop(site: WebSite) -> None:
    site.redirect("/x", "/y")
    site.redirect("/y", "/x")


def _chain(site: WebSite) -> None:
    site.redirect("/x", "/y")
    site.redirect("/y", "/z")
    site.add("/z", PAGE)


def _disallowed(site: WebSite) -> None:
    site.robots("User-agent: *\nDisallow: /x\n")
    site.add("/x", PAGE)


def _robots(code: int):
    def setup(site: WebSite) -> None:
        site.robots(status=code)
        site.add("/x", PAGE)
    return setup


def _robots_silent(site: WebSite) -> None:
    site.slow("/robots.txt", every_ms=2000, content_type="text/plain")
    site.add("/x", PAGE)


def case(name: str, transient: bool, says: str, routes=lambda site: None, url: str | None = None, **changes):
    """One failure: ``routes`` set up on the site, the URL fetched (/x if None), what the error says."""
    return pytest.param(routes, url, changes, transient, says, id=name)


TRANSIENT = [  # nothing is retried (retries=0), so no case waits for a backoff
    # worth trying again later
    case("408", True, "HTTP 408", lambda s: s.status("/x", 408)),
    case("429", True, "HTTP 429", lambda s: s.status("/x", 429)),
    case("500", True, "HTTP 500", lambda s: s.status("/x", 500)),
    case("503", True, "HTTP 503", lambda s: s.status("/x", 503)),
    case("read-timeout", True, "timed out", lambda s: s.slow("/x", every_ms=2000), timeout_s=0.2),
    case("total-time-body", True, "RAG_FETCH_TOTAL_S", lambda s: s.slow("/x"), total_s=0.3),
    case("total-time-headers", True, "RAG_FETCH_TOTAL_S", lambda s: s.slow_head("/x"), total_s=0.3),
    case("refused-connection", True, "could not connect", url="http://127.0.0.1:{free}/x"),
    case("reset", True, "network error", lambda s: s.drop("/x", reset=True)),
    case("cut-short", True, "network error", lambda s: s.drop("/x")),
    case("dns-again", True, "Temporary failure", url="http://flaky.test:{port}/x",
         resolver=_dns_error(socket.EAI_AGAIN, "Temporary failure in name resolution")),
    case("robots-500", True, "could not be read (HTTP 500", _robots(500), robots=True),
    case("robots-429", True, "could not be read (HTTP 429", _robots(429), robots=True),
    case("robots-timeout", True, "no answer from 127.0.0.1 (timed out", _robots_silent, robots=True, timeout_s=0.2),
    case("robots-host-down", True, "no answer from 127.0.0.1 (could not connect", url="http://127.0.0.1:{free}/x",
         robots=True),
    # failing the same way next time
    case("404", False, "HTTP 404", lambda s: s.status("/x", 404)),
    case("410", False, "HTTP 410", lambda s: s.status("/x", 410)),
    case("403", False, "HTTP 403", lambda s: s.status("/x", 403)),
    case("451", False, "HTTP 451", lambda s: s.status("/x", 451)),
    case("blocked-address", False, "loopback address", lambda s: s.add("/x", PAGE), allow_networks=()),
    case("robots-disallow", False, "disallows it", _disallowed, robots=True),
    case("content-type", False, "content type image/png", lambda s: s.add("/x", b"\x89PNG", "image/png")),
    case("too-large", False, "RAG_FETCH_MAX_MB", lambda s: s.huge("/x"), max_bytes=100_000),
    case("redirect-loop", False, "redirect loop", _loop),
    case("too-many-redirects", False, "more than 1 redirects", _chain, max_redirects=1),
    case("scheme", False, "only http and https", url="ftp://example.com/x"),
    case("invalid-url", False, "not a valid URL", url="http://[::1/x"),
    case("corrupt-gzip", False, "compressed body is corrupt",
         lambda s: s.add("/x", b"\x1f\x8b\x08\x00 not gzip at all", headers={"Content-Encoding": "gzip"})),
    case("unknown-encoding", False, "unsupported Content-Encoding",
         lambda s: s.add("/x", PAGE, headers={"Content-Encoding": "br"})),
    case("dns-no-name", False, "cannot resolve host", url="http://nowhere.test:{port}/x",
         resolver=_dns_error(socket.EAI_NONAME, "Name or service not known")),
]


@pytest.mark.parametrize("routes, url, changes, transient, says", TRANSIENT)
def test_each_failure_says_whether_it_is_worth_trying_again(site, sleeps, routes, url, changes, transient, says):
    """``FetchError.transient`` tells a sync what to try again next time (a timeout, a reset, 408, 429, 5xx,
    robots.txt unreadable for now) from what will fail the same way (404, a refused address, a disallow ...)."""
    routes(site)
    changes = {"robots": False, "retries": 0, **changes}
    resolver = changes.pop("resolver", addresses.system_resolver)
    url = (url or site.url("/x")).format(port=site.port, free=free_port())
    with Fetcher(policy(**changes), sleep=sleeps.append, resolver=resolver) as f, \
            pytest.raises(FetchError) as caught:
        f.get(url)
    assert says in caught.value.reason and caught.value.transient is transient, str(caught.value)


# --- politeness ---------------------------------------------------------------------------------------

def test_requests_to_one_host_are_spaced_and_other_hosts_are_not(site):
    site.add("/a", PAGE)
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds
    with Fetcher(policy(robots=False, host_interval_s=2.0, allow_private=True), sleep=sleep,
                 clock=lambda: now[0]) as f:
        for _ in range(3):
            f.get(site.url("/a"))
        f.get(site.url("/a", host="localhost"))
    assert sleeps == [2.0, 2.0]


def test_threads_share_the_host_interval(site):
    site.add("/a", PAGE)
    sleeps: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            sleeps.append(seconds)
    with Fetcher(policy(robots=False, host_interval_s=2.0), sleep=sleep, clock=lambda: 0.0) as f:
        threads = [threading.Thread(target=f.get, args=(site.url("/a"),)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(sleeps) == [2.0, 4.0, 6.0] and site.count("/a", status=200) == 4


# --- settings -----------------------------------------------------------------------------------------

def test_policy_from_settings(monkeypatch):
    monkeypatch.setenv("RAG_FETCH_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("RAG_FETCH_MAX_MB", "2.5")
    p = FetchPolicy.from_settings(Settings(_env_file=None, fetch_retries=4, fetch_robots=False))
    assert (p.allow_private, p.max_bytes, p.retries, p.robots) == (True, 2_500_000, 4, False)
    assert p.user_agent == "newsrag/0.1 (news Q&A indexer)" and p.timeout_s == 15 and p.total_s == 60
