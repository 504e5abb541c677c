"""The Library tab's web side called directly (no browser), against a real loopback news site."""

from __future__ import annotations

import html
import re

import gradio as gr
import pytest

from tests.fixtures.news_site import BRIDGE, FERRY, MARKET, rss
from ui import Handlers
from ui.web import FEED_HEADERS, WebLibrary, feed_choices, feed_rows

WEB = dict(fetch_allow_networks="127.0.0.1", fetch_host_interval_s=0, fetch_backoff_s=0, fetch_retries=1)
FERRY_Q = "How much will a Lakeport ferry crossing cost from July?"
COUNTS = slice(FEED_HEADERS.index("Items"), FEED_HEADERS.index("Problem"))


def text(markdown: str) -> str:
    """A summary as the reader sees it (entities back to characters)."""
    return html.unescape(markdown)


def serve(site, *stories, feed="/feed.xml"):
    """The stories and a feed listing them (with tracking parameters, as real feeds do); the feed's URL."""
    for story in stories:
        site.add(story.path, story.html(site), etag=True, last_modified=True)
    items = [(s.path + "?utm_source=rss", s.title, "Mon, 02 Jun 2025 08:00:00 GMT", None) for s in stories]
    site.add(feed, rss(site, items), "application/rss+xml", etag=True)
    return site.url(feed)


@pytest.fixture
def page(make_rag, tmp_path):
    """(handlers, web) over an empty index that may fetch from 127.0.0.1, sharing one write lock."""
    rag = make_rag(**WEB)
    handlers = Handlers(rag, upload_dir=tmp_path / "uploads")
    return handlers, WebLibrary(rag, handlers.write_lock)


def test_fetch_article_indexes_it_as_added_by_the_user_and_cites_its_url(page, site):
    handlers, web = page
    site.add(FERRY.path, FERRY.html(site), etag=True)
    summary = web.fetch(f"  {site.url(FERRY.path)}?utm_campaign=x  ", gr.Request(username="alice"))
    assert text(summary).startswith("**Fetched and indexed.** added 1"), summary
    [article] = handlers.rag.documents()
    assert (article.url, article.origin, article.uploaded_by) == (site.url(FERRY.path), "upload", "alice")
    assert any("uploaded by alice on" in label for label, _ in handlers.article_choices())

    *_, (_, chatbot, _, sources, markdown, _) = handlers.respond(FERRY_Q, [], None, as_of="2025-06-10")
    bubble = chatbot[-1]["content"]
    assert "4.50 euros" in text(re.sub(r"<[^>]+>", "", bubble)) and 'class="cite upload"' in bubble
    assert f'href="{site.url(FERRY.path)}"' in text(sources) and site.url(FERRY.path) in markdown

    again = web.fetch(site.url(FERRY.path))  # anonymous without a login; the page answers 304
    assert "**Fetched and indexed.**" in again and len(handlers.rag.documents()) == 1


def test_follow_feed_syncs_at_once_and_the_feeds_table_shows_the_counts(page, site):
    handlers, web = page
    url = serve(site, FERRY, BRIDGE, MARKET)
    summary = text(web.follow(url))
    assert summary.startswith("**Following Harbour Gazette.** Synced now: feeds checked 1 (0 unchanged, 0 failed); "
                              "articles new 3,")
    assert "failed 0" in summary
    assert {a.url for a in handlers.rag.documents()} == {site.url(s.path) for s in (FERRY, BRIDGE, MARKET)}
    assert all(a.origin == "corpus" for a in handlers.rag.documents())  # a followed feed marks nothing
    [row] = feed_rows(handlers.rag.feeds())
    assert row[0] == "Harbour Gazette" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", row[1])
    assert row[COUNTS] == ["3", "3", "0", "0", "0"] and row[-1] == ""
    assert feed_choices(handlers.rag.feeds()) == [(f"Harbour Gazette ({url})", url)]

    again = text(web.follow(url))  # following it again is a sync of that feed: nothing downloaded twice
    assert again.startswith("**Already following Harbour Gazette.**") and "(1 unchanged, 0 failed)" in again
    assert site.count(FERRY.path, status=200) == 1


def test_sync_all_brings_new_articles_and_says_when_nothing_is_followed(page, site):
    handlers, web = page
    assert "No feeds followed yet" in web.sync_all()
    url = serve(site, FERRY, BRIDGE)
    web.follow(url)
    serve(site, FERRY, BRIDGE, MARKET)
    summary = text(web.sync_all())
    assert summary.startswith("**Synced.** feeds checked 1") and "articles new 1, updated 0, unchanged 2" in summary
    assert len(handlers.rag.documents()) == 3
    assert feed_rows(handlers.rag.feeds())[0][COUNTS] == ["3", "1", "0", "2", "0"]


def test_stop_following_keeps_the_articles(page, site):
    handlers, web = page
    assert "Choose the feeds" in web.stop_following([])
    url = serve(site, FERRY, BRIDGE)
    web.follow(url)
    summary = text(web.stop_following([url, "http://127.0.0.1:9/gone.xml"]))
    assert summary.startswith("**Stopped following 1 feed(s):** Harbour Gazette. Their articles stay indexed")
    assert "gone.xml: was no longer followed" in summary  # stopped in another window: done, not an error
    assert handlers.rag.feeds() == [] and len(handlers.rag.documents()) == 2


@pytest.mark.parametrize("typed, said", [
    ("", "Type a web address first"),
    ("   ", "Type a web address first"),
    ("lakeport ferry fares", "One web address at a time"),
    ("example.com/news/ferry", "“example.com/news/ferry” is not a web address: give the full address"),
    ("/etc/passwd", "“/etc/passwd” is not a web address"),  # never read as a path on the server
    ("ftp://example.com/feed.xml", "is not a web address"),
    ("http://[::1/feed", "is not a web address"),
])
def test_what_is_not_a_web_address_is_refused_before_anything_is_fetched(page, typed, said):
    handlers, web = page
    for answer in (web.fetch(typed), web.follow(typed)):
        assert said in text(answer) and "Traceback" not in answer
    assert handlers.rag.documents() == [] and handlers.rag.feeds() == []


def test_loopback_is_refused_without_the_allow_setting_with_its_fix(make_rag, site, tmp_path):
    rag = make_rag(data_dir=tmp_path / "closed", fetch_host_interval_s=0)
    web = WebLibrary(rag, Handlers(rag, upload_dir=tmp_path / "uploads").write_lock)
    url = serve(site, FERRY)
    fetched = text(web.fetch(site.url(FERRY.path)))
    assert fetched.startswith("**Nothing was indexed.**")
    assert f"- {site.url(FERRY.path)}: 127.0.0.1 is a loopback address" in fetched
    assert "RAG_FETCH_ALLOW_PRIVATE=true" in fetched
    followed = text(web.follow(url))
    assert followed.startswith("**Not followed:**") and "127.0.0.1 is a loopback address" in followed
    assert site.requests == [] and rag.documents() == [] and rag.feeds() == []


def test_an_address_that_is_no_feed_is_not_followed(page, site):
    handlers, web = page
    site.status("/gone.xml", 404)
    summary = text(web.follow(site.url("/gone.xml")))
    assert summary.startswith("**Not followed:**") and "404" in summary and handlers.rag.feeds() == []
    site.add(FERRY.path, FERRY.html(site))
    summary = text(web.follow(site.url(FERRY.path)))  # an article's page, not its feed
    assert summary.startswith("**Not followed:**") and "not a feed" in summary and handlers.rag.feeds() == []


def test_a_feed_that_fails_for_now_stays_followed_and_the_table_says_why(page, site):
    handlers, web = page
    site.status("/busy.xml", 503)
    summary = text(web.follow(site.url("/busy.xml")))
    assert "503" in summary and "\n\nThe feed could not be read just now; it stays followed" in summary
    [row] = feed_rows(handlers.rag.feeds())
    assert "503" in row[-1] and row[1] != "never" and row[COUNTS] == [""] * 5  # no counts from a failed read
    site.status("/missing", 404)
    fetched = text(web.fetch(site.url("/missing")))
    assert fetched.startswith("**Nothing was indexed.**") and "404" in fetched


def test_server_text_in_a_summary_is_escaped(page, site):
    _, web = page
    summary = web.follow(site.url("/<img/src=x/onerror=alert(1)>.xml"))  # unknown: a 404
    assert "404" in summary and "<img" not in summary and "&#60;img" in summary


def test_library_writes_count_against_the_client_budget_and_refreshes_do_not(make_rag, tmp_path):
    from ui.site import _gradio, answering, page_app

    app = page_app(make_rag(**WEB), upload_dir=tmp_path / "uploads")
    costly = answering(app)
    by_name: dict[str, list] = {}
    for index, fn in _gradio(app).get_blocks().fns.items():
        by_name.setdefault(fn.name, []).append((index, fn))
    for name in ("fetch", "follow", "sync_all", "stop_following", "upload", "remove"):
        [(index, fn)] = by_name[name]
        assert costly({"fn_index": index}), name
        assert (fn.concurrency_id, fn.concurrency_limit) == ("library", 1), name
    for name in ("refresh", "example_questions"):
        assert by_name[name] and all(not costly({"fn_index": i}) for i, _ in by_name[name]), name
        assert all(fn.show_progress == "hidden" for _, fn in by_name[name]), name  # the old rows stay visible
