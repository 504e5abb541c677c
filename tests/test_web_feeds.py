"""Reading feeds and keeping the feed list: every dialect, broken XML, huge feeds, canonical URLs."""

from __future__ import annotations

import tracemalloc
from datetime import date

import pytest

from rag.errors import FeedError, UnknownFeedError
from rag.web.feeds import FeedRegistry, parse_feed
from rag.web.pages import article_url, canonical_url, is_url

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Harbour Gazette</title>
<item><title>Ferry fares rise</title><link>https://news.example/ferry-fares?utm_source=rss&amp;utm_medium=feed</link>
<pubDate>Tue, 03 Jun 2025 09:00:00 GMT</pubDate><dc:creator>Ana Ruiz</dc:creator></item>
<item><title>Older story</title><link>https://news.example/older</link><pubDate>Sun, 01 Jun 2025 09:00:00 GMT</pubDate></item>
<item><title>No link</title></item>
</channel></rss>"""

RSS091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title><link>http://old.example/</link>
<item><title>One</title><link>http://old.example/one</link></item></channel></rss>"""

RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="http://rdf.example/"><title>RDF news</title></channel>
<item rdf:about="http://rdf.example/a"><title>A</title><link>http://rdf.example/a</link><dc:date>2025-06-02</dc:date></item>
</rdf:RDF>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Times</title>
<entry><title>Relative link</title><link href="/2025/06/story"/><id>tag:a,1</id><published>2025-06-04T08:00:00Z</published>
<author><name>Bo Li</name></author></entry></feed>"""

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://map.example/a</loc><news:news><news:publication><news:name>Map Post</news:name></news:publication>
<news:publication_date>2025-06-05T10:00:00+00:00</news:publication_date><news:title>Sitemap story</news:title></news:news></url>
</urlset>"""


def test_rss2_items_newest_first_with_their_facts():
    feed = parse_feed(RSS2, "https://news.example/rss", 10)
    assert feed.title == "Harbour Gazette"
    assert [i.facts.title for i in feed.items] == ["Ferry fares rise", "Older story"]  # the linkless item is left
    first = feed.items[0]
    assert first.facts.published == date(2025, 6, 3) and first.facts.author == "Ana Ruiz"
    assert first.facts.outlet == "Harbour Gazette"


@pytest.mark.parametrize("data, link, day", [
    (RSS091, "http://old.example/one", None),
    (RDF, "http://rdf.example/a", date(2025, 6, 2)),
    (ATOM, "https://atom.example/2025/06/story", date(2025, 6, 4)),
    (SITEMAP, "https://map.example/a", date(2025, 6, 5)),
])
def test_every_dialect_is_read(data, link, day):
    feed = parse_feed(data, "https://atom.example/feed.xml", 10)
    assert [i.link for i in feed.items] == [link]
    assert feed.items[0].facts.published == day


def test_sitemap_gives_title_and_outlet():
    item = parse_feed(SITEMAP, "https://map.example/sitemap.xml", 10).items[0]
    assert (item.facts.title, item.facts.outlet) == ("Sitemap story", "Map Post")


@pytest.mark.parametrize("data", [b"<rss><channel><item><title>x</ti", b"not xml at all", b"<html><body>hi</body></html>",
                                  b"<?xml version='1.0'?><urlset><url><loc>x"])
def test_malformed_feed_is_a_clear_error(data):
    with pytest.raises(FeedError) as err:
        parse_feed(data, "https://x.example/feed", 10)
    assert "x.example/feed" in str(err.value) and "\n" not in str(err.value)


def test_a_feed_of_10000_items_is_read_once_and_capped():
    items = "".join(f"<item><title>T{i}</title><link>https://big.example/{i}</link>"
                    f"<pubDate>{1 + i % 28:02d} May 2025 10:00:00 GMT</pubDate></item>" for i in range(10_000))
    data = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'.encode()
    tracemalloc.start()
    try:
        feed = parse_feed(data, "https://big.example/rss", 50)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert feed.total == 10_000 and len(feed.items) == 50
    assert all(i.facts.published == date(2025, 5, 28) for i in feed.items)  # the newest day's items
    assert peak < 200 * len(data)  # bounded by the feed's size (feedparser keeps every item once)


def test_duplicate_links_in_a_feed_are_one_item():
    data = RSS2.replace(b"https://news.example/older", b"https://news.example/ferry-fares")
    assert len(parse_feed(data, "https://news.example/rss", 10).items) == 1


def test_canonical_url_strips_tracking_and_fragment_only():
    assert canonical_url("HTTPS://News.Example:443/a?utm_source=x&id=3&fbclid=9#top") == "https://news.example/a?id=3"
    assert canonical_url("http://news.example") == "http://news.example/"


def test_declared_canonical_is_believed_only_on_the_same_site():
    assert article_url("https://www.news.example/a?x=1", "https://news.example/a") == "https://news.example/a"
    assert article_url("https://evil.example/copy", "https://news.example/a") == "https://evil.example/copy"
    assert article_url("https://news.example/a", None) == "https://news.example/a"
    assert article_url("https://news.example/a", "https://news.example/") == "https://news.example/a"


def test_is_url_tells_urls_from_paths():
    assert is_url("https://x.example/a") and is_url("ftp://x.example/a")
    assert not is_url("data/articles") and not is_url("C:/x") and not is_url("note: http://x")


def test_registry_add_list_rename_remove(tmp_path):
    feeds = FeedRegistry(tmp_path)
    feeds.add("https://news.example/rss")
    feeds.add("https://atom.example/feed", name="Atom")
    feeds.add("https://NEWS.example/rss", name="Gazette")  # the same feed: renamed, not added twice
    assert [(f.url, f.name) for f in FeedRegistry(tmp_path).all()] == [
        ("https://news.example/rss", "Gazette"), ("https://atom.example/feed", "Atom")]
    assert feeds.remove("Atom").url == "https://atom.example/feed"
    with pytest.raises(UnknownFeedError, match="rag feed list"):
        feeds.remove("https://nope.example/rss")
    assert [f.url for f in feeds.all()] == ["https://news.example/rss"]


@pytest.mark.parametrize("url", ["news.example/rss", "file:///etc/passwd", "javascript:alert(1)", ""])
def test_registry_refuses_what_is_not_a_web_address(tmp_path, url):
    with pytest.raises(FeedError, match="http"):
        FeedRegistry(tmp_path).add(url)
    assert FeedRegistry(tmp_path).all() == []


def test_a_damaged_feed_list_is_reported_not_replaced(tmp_path):
    feeds = FeedRegistry(tmp_path)
    feeds.add("https://news.example/rss")
    feeds.path.write_text("{not json")
    with pytest.raises(FeedError, match="feed list cannot be read"):
        feeds.add("https://other.example/rss")
    assert feeds.path.read_text() == "{not json"
