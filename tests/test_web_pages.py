"""Stored web pages are indexed like HTML files, known by their canonical URL, with the feed item's facts."""

from __future__ import annotations

from datetime import date, datetime, timezone

from rag.web.pages import ItemFacts, PageRecord, Pages

ARTICLE = """<html><head><title>Lakeport ferry fares rise</title>{extra}</head><body><article>
<h1>Lakeport ferry fares rise</h1>
<p>The Lakeport ferry will charge 4.50 euros a crossing from July, up from 3.80 euros, the operator said on Monday.</p>
<p>The operator said fuel costs had doubled since 2023 and that the timetable would not change this summer.</p>
<p>Commuters who cross daily can buy a monthly pass for 60 euros, the same price as last year.</p>
</article></body></html>"""


def record(url: str, html: str, **item) -> PageRecord:
    import hashlib

    return PageRecord(url=url, links=[url], final_url=url, fetched_at=datetime.now(timezone.utc),
                      content_hash=hashlib.sha256(html.encode()).hexdigest(), item=ItemFacts(**item))


def test_a_stored_page_is_indexed_with_its_url_and_feed_facts(make_rag):
    rag = make_rag()
    pages = Pages(rag.settings.data_dir)
    html = ARTICLE.format(extra="")
    path = pages.save(record("https://news.example/ferry-fares", html, published=date(2025, 6, 2),
                             author="Ana Ruiz", outlet="Harbour Gazette"), html.encode())
    assert path.name.startswith("news.example-ferry-fares-")
    report = rag.ingest([path], progress=False)
    assert report.added == 1
    [article] = rag.documents()
    assert (article.url, article.published, article.author, article.outlet) == (
        "https://news.example/ferry-fares", date(2025, 6, 2), "Ana Ruiz", "Harbour Gazette")
    answer = rag.ask("How much will a Lakeport ferry crossing cost from July?")
    assert not answer.abstained and answer.citations[0].url == "https://news.example/ferry-fares"
    cited = answer.citations[0]
    from rag.ingest.html import extract

    assert extract(path.read_bytes()).text[cited.start:cited.end] == cited.quote


def test_the_page_beats_the_feed_item_but_not_the_canonical_url(make_rag):
    rag = make_rag()
    pages = Pages(rag.settings.data_dir)
    html = ARTICLE.format(extra='<meta property="article:published_time" content="2025-06-01">'
                                '<meta property="og:site_name" content="Gazette Online">'
                                '<link rel="canonical" href="https://news.example/ferry-fares?utm_source=x">')
    path = pages.save(record("https://news.example/ferry-fares", html, published=date(2025, 6, 2),
                             outlet="Feed title"), html.encode())
    rag.ingest([path], progress=False)
    [article] = rag.documents()
    assert (article.published, article.outlet, article.url) == (
        date(2025, 6, 1), "Gazette Online", "https://news.example/ferry-fares")


def test_new_feed_facts_reindex_an_unchanged_page(make_rag):
    rag = make_rag()
    pages = Pages(rag.settings.data_dir)
    html = ARTICLE.format(extra="")
    path = pages.save(record("https://news.example/ferry-fares", html, author="A. Ruiz"), html.encode())
    rag.ingest([path], progress=False)
    pages.save(record("https://news.example/ferry-fares", html, author="Ana Ruiz"), None)
    again = rag.ingest([path], progress=False)
    assert again.updated == 1 and rag.documents()[0].author == "Ana Ruiz"
    assert rag.ingest([path], progress=False).unchanged == 1


def test_one_canonical_url_is_one_file_whatever_link_led_there(tmp_path):
    pages = Pages(tmp_path)
    assert pages.path_for("https://news.example/a") == pages.path_for("https://news.example/a")
    assert pages.path_for("https://news.example/a") != pages.path_for("https://news.example/a?id=2")
    html = "<html></html>"
    saved = record("https://news.example/a", html)
    pages.save(saved.model_copy(update={"links": ["https://news.example/a", "https://t.example/x"]}), html.encode())
    fresh = Pages(tmp_path)
    assert fresh.known("https://t.example/x?utm_campaign=y").url == "https://news.example/a"
    assert fresh.known("https://news.example/other") is None


def test_a_torn_record_is_skipped_not_fatal(tmp_path):
    pages = Pages(tmp_path)
    html = "<html></html>"
    path = pages.save(record("https://news.example/a", html), html.encode())
    path.with_suffix(".json").write_text('{"url": "https://news.ex')
    assert Pages(tmp_path).records() == [] and Pages(tmp_path).record_of(path) is None


def test_a_fetched_article_is_shown_by_its_url_not_its_stored_file(make_rag):
    from rag import source_name
    from rag.web.pages import page_file_name
    from ui import render

    rag = make_rag()
    pages = Pages(rag.settings.data_dir)
    url = "https://news.example/ferry-fares"
    html = ARTICLE.format(extra="")
    rag.ingest([pages.save(record(url, html), html.encode())], progress=False)
    assert source_name(page_file_name(url), url) == url
    assert source_name("storm.html", "https://news.example/storm") == "storm.html"  # a file of the corpus
    [row] = render.library_rows(rag.documents())
    assert row[render.LIBRARY_HEADERS.index("File")] == url
    answer = rag.ask("How much will a Lakeport ferry crossing cost from July?")
    panel, markdown = render.sources_html(answer, 0), render.answer_markdown(answer)
    assert f">{render.escape(url)} ↗</a>" in panel and f"({url}, chars" not in markdown and url in markdown
    assert page_file_name(url) not in panel + markdown
