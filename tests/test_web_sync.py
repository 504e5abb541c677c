"""Feeds and article URLs against a real loopback site: what a sync indexes, what it downloads again, what
it refuses."""

from __future__ import annotations

import re
from datetime import date

import pytest
from typer.testing import CliRunner

from rag.cli import app

from .fixtures.news_site import BRIDGE, FERRY, MARKET, rss

WEB = dict(fetch_allow_networks="127.0.0.1", fetch_host_interval_s=0, fetch_backoff_s=0, fetch_retries=1)


def serve(site, *stories, feed="/feed.xml", dates=("Mon, 02 Jun 2025 08:00:00 GMT",) * 3):
    for story in stories:
        site.add(story.path, story.html(site), etag=True, last_modified=True)
    items = [(s.path + "?utm_source=rss&utm_medium=feed", s.title, d, None) for s, d in zip(stories, dates)]
    site.add(feed, rss(site, items), "application/rss+xml", etag=True)
    return site.url(feed)


def test_feed_add_and_sync_index_articles_with_dates_authors_and_canonical_urls(site, make_rag):
    rag = make_rag(**WEB)
    rag.add_feed(serve(site, FERRY, BRIDGE, MARKET), name="Gazette")
    report = rag.sync(progress=False)
    assert (report.feeds_checked, report.new, report.failed) == (1, 3, []), report
    articles = {a.url: a for a in rag.documents()}
    assert set(articles) == {site.url(s.path) for s in (FERRY, BRIDGE, MARKET)}  # tracking parameters gone
    ferry = articles[site.url(FERRY.path)]
    assert (ferry.published, ferry.author, ferry.outlet) == (date(2025, 6, 2), "Ana Ruiz", "Harbour Gazette")
    assert articles[site.url(BRIDGE.path)].published == date(2025, 6, 3)
    answer = rag.ask("How much will a Lakeport ferry crossing cost from July?", as_of="2025-06-10")
    assert not answer.abstained and "4.50 euros" in answer.text
    assert answer.citations[0].url == site.url(FERRY.path)
    [feed] = rag.feeds()
    assert (feed.name, feed.new, feed.items, feed.error) == ("Gazette", 3, 3, None) and feed.last_sync


def test_a_second_sync_downloads_no_article_again(site, make_rag):
    rag = make_rag(**WEB)
    rag.add_feed(serve(site, FERRY, BRIDGE, MARKET))
    rag.sync(progress=False)
    assert all(site.count(s.path, status=200) == 1 for s in (FERRY, BRIDGE, MARKET))
    again = rag.sync(progress=False)
    assert (again.feeds_unchanged, again.new, again.updated, again.unchanged, again.downloaded) == (1, 0, 0, 3, 0)
    assert site.count("/feed.xml", status=304) == 1
    assert all(site.count(s.path, status=200) == 1 for s in (FERRY, BRIDGE, MARKET))  # not one article again


def test_a_changed_feed_brings_new_and_changed_articles_and_asks_only_for_the_rest(site, make_rag):
    rag = make_rag(**WEB)
    rag.add_feed(serve(site, FERRY, BRIDGE))
    rag.sync(progress=False)
    changed = FERRY.__class__(**{**FERRY.__dict__, "paragraphs": FERRY.paragraphs + [
        "On Thursday the operator said children under twelve will travel free all summer."]})
    serve(site, changed, BRIDGE, MARKET)
    report = rag.sync(progress=False)
    assert (report.new, report.updated, report.unchanged, report.failed) == (1, 1, 1, []), report
    assert site.count(BRIDGE.path, status=304) == 1 and site.count(BRIDGE.path, status=200) == 1
    assert len(rag.documents()) == 3
    [top] = rag.retrieve("ferry free travel for children this summer", top_k=1, as_of="2025-06-10")
    assert top.url == site.url(FERRY.path) and "children under twelve will travel free" in top.text


def test_two_links_to_one_article_are_one_document(site, make_rag):
    rag = make_rag(**WEB)
    site.add(FERRY.path, FERRY.html(site), etag=True)
    site.redirect("/s/abc", FERRY.path)
    site.add("/amp/ferry-fares", FERRY.html(site))  # another address whose page names the same canonical URL
    report = rag.ingest([site.url("/s/abc?utm_campaign=x"), site.url("/amp/ferry-fares"),
                         site.url(FERRY.path + "?fbclid=1")], progress=False)
    assert (report.added, report.skipped) == (1, []), report
    assert [a.url for a in rag.documents()] == [site.url(FERRY.path)]


def test_every_failure_is_reported_and_costs_no_other_article(site, make_rag):
    rag = make_rag(**WEB, fetch_total_s=2, fetch_max_mb=1)
    site.add(FERRY.path, FERRY.html(site))
    site.status("/gone", 404)
    site.status("/broken", 500)
    site.redirect("/loop-a", "/loop-b")
    site.redirect("/loop-b", "/loop-a")
    site.slow("/slow")
    site.huge("/huge")
    site.bomb("/bomb", decoded_mb=200)
    site.add("/photo", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/png")
    site.add("/empty", "<html><body><nav>Home</nav></body></html>", etag=True)
    bad = ["/gone", "/broken", "/loop-a", "/slow", "/huge", "/bomb", "/photo", "/empty",
           "http://169.254.169.254/latest/meta-data/", f"http://127.0.0.2:{site.port}/x"]
    items = [(p, p, None, None) for p in [FERRY.path, *bad]]
    site.add("/feed.xml", rss(site, items), "application/rss+xml", etag=True)
    rag.add_feed(site.url("/feed.xml"))
    report = rag.sync(progress=False)
    assert report.new == 1
    reasons = {f.url.replace(site.url("/"), "/"): f.reason for f in report.failed}
    assert len(reasons) == len(bad), reasons
    assert "404" in reasons["/gone"] and "500" in reasons["/broken"] and "redirect" in reasons["/loop-a"]
    assert "limit" in reasons["/huge"] and "limit" in reasons["/bomb"] and "image/png" in reasons["/photo"]
    assert "RAG_FETCH_ALLOW_PRIVATE" in reasons["http://169.254.169.254/latest/meta-data/"]
    assert "no article text" in reasons["/empty"]
    [feed] = rag.feeds()
    assert feed.failed == len(bad) and feed.etag is None  # read again next time, so the failures are retried
    # the page with no article is not asked for in full again until it changes
    again = rag.sync(progress=False)
    assert site.count("/empty", status=200) == 1 and again.new == 0


def test_a_malformed_feed_fails_alone(site, make_rag):
    rag = make_rag(**WEB)
    rag.add_feed(serve(site, FERRY))
    site.add("/bad.xml", "<rss><channel><item><title>x</ti", "application/rss+xml")
    rag.add_feed(site.url("/bad.xml"))
    site.status("/gone.xml", 404)
    rag.add_feed(site.url("/gone.xml"))
    report = rag.sync(progress=False)
    assert report.new == 1 and report.feeds_checked == 3
    errors = {f.url: f.error for f in rag.feeds()}
    assert "not a readable feed" in errors[site.url("/bad.xml")] and "404" in errors[site.url("/gone.xml")]
    assert errors[site.url("/feed.xml")] is None


def test_a_feed_of_10000_items_costs_one_parse_and_the_newest_fetches(site, make_rag):
    rag = make_rag(**WEB, feed_max_items=3)
    site.add(FERRY.path, FERRY.html(site))
    items = [(FERRY.path, "Ferry", "Mon, 02 Jun 2025 08:00:00 GMT", None)]
    items += [(f"/old/{i}", f"Old {i}", "Mon, 05 May 2025 08:00:00 GMT", None) for i in range(9_999)]
    site.add("/big.xml", rss(site, items), "application/rss+xml")
    rag.add_feed(site.url("/big.xml"))
    report = rag.sync(progress=False)
    assert report.new == 1 and len(report.failed) == 2  # two /old pages: 404
    assert any("newest 3 of 10000" in w for w in report.warnings)
    assert len([r for r in site.requests if r.path.startswith("/old/")]) == 2


def test_loopback_without_the_allow_setting_is_refused_in_one_line(site, tmp_path):
    site.add(FERRY.path, FERRY.html(site))
    env = {"RAG_DATA_DIR": str(tmp_path / "index"), "RAG_FETCH_ALLOW_PRIVATE": "false"}
    result = CliRunner().invoke(app, ["ingest", site.url(FERRY.path)], env=env)
    assert result.exit_code == 1
    [line] = [ln for ln in result.output.splitlines() if ln.startswith("skipped")]
    assert "127.0.0.1 is a loopback address" in line and "RAG_FETCH_ALLOW_PRIVATE=true" in line
    assert site.count(FERRY.path) == 0


def test_cli_feed_add_sync_ask_cites_the_url(site, tmp_path, monkeypatch):
    url = serve(site, FERRY, BRIDGE, MARKET)
    env = {"RAG_DATA_DIR": str(tmp_path / "index"), "RAG_FETCH_ALLOW_PRIVATE": "true",
           "RAG_FETCH_HOST_INTERVAL_S": "0"}
    runner = CliRunner()
    added = runner.invoke(app, ["feed", "add", url, "--name", "Gazette"], env=env)
    assert added.exit_code == 0 and "following Gazette" in added.output
    synced = runner.invoke(app, ["sync"], env=env)
    assert synced.exit_code == 0, synced.output
    assert "articles new 3, updated 0, unchanged 0, failed 0" in synced.output
    listed = runner.invoke(app, ["feed", "list"], env=env)
    assert "Gazette: " + url in listed.output and "new 3" in listed.output
    asked = runner.invoke(app, ["ask", "How much will a Lakeport ferry crossing cost from July?",
                                "--as-of", "2025-06-10"], env=env)
    assert "4.50 euros" in asked.output and site.url(FERRY.path) in asked.output
    again = runner.invoke(app, ["sync"], env=env)
    assert "0 page(s) downloaded" in again.output
    assert runner.invoke(app, ["feed", "remove", "Gazette"], env=env).exit_code == 0
    assert "no feeds followed" in runner.invoke(app, ["feed", "list"], env=env).output
    assert runner.invoke(app, ["sync"], env=env).exit_code == 1


@pytest.mark.parametrize("every, ok", [("15m", True), ("1h", True), ("90", True), ("10s", False), ("soon", False)])
def test_sync_every_reads_durations(every, ok, tmp_path):
    from rag.cli import _interval
    import typer

    if ok:
        assert _interval(every) >= 60
    else:
        with pytest.raises(typer.Exit):
            _interval(every)


def test_a_removed_article_stays_out_until_asked_for_again(site, make_rag):
    rag = make_rag(**WEB)
    rag.add_feed(serve(site, FERRY, BRIDGE))
    rag.sync(progress=False)
    ferry = next(a for a in rag.documents() if a.url == site.url(FERRY.path))
    rag.remove([ferry.doc_id])
    site.add("/feed.xml", rss(site, [(FERRY.path, "Ferry", None, None), (BRIDGE.path, "Bridge", None, None),
                                     (MARKET.path, "Market", None, None)]), "application/rss+xml", etag=True)
    site.add(MARKET.path, MARKET.html(site))
    report = rag.sync(progress=False)  # the feed changed, the removed article did not: it stays out
    assert report.new == 1 and site.url(FERRY.path) not in {a.url for a in rag.documents()}
    back = rag.ingest([site.url(FERRY.path)], progress=False)  # asked for by name: back it comes
    assert back.added == 1 and site.url(FERRY.path) in {a.url for a in rag.documents()}


def test_sync_every_runs_until_interrupted(site, tmp_path, monkeypatch):
    import time

    url = serve(site, FERRY)
    env = {"RAG_DATA_DIR": str(tmp_path / "index"), "RAG_FETCH_ALLOW_NETWORKS": "127.0.0.1",
           "RAG_FETCH_HOST_INTERVAL_S": "0"}
    runner = CliRunner()
    runner.invoke(app, ["feed", "add", url], env=env)
    waits = []

    def sleep(seconds: float) -> None:
        if seconds >= 60:  # the wait between syncs, not the fetcher's politeness
            waits.append(seconds)
            if len(waits) == 2:
                raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", sleep)
    result = runner.invoke(app, ["sync", "--every", "15m"], env=env)
    assert result.exit_code == 0 and waits == [900.0, 900.0]
    summaries = [ln for ln in result.output.splitlines() if "feeds checked" in ln]
    assert len(summaries) == 2 and "new 1" in summaries[0] and "(1 unchanged, 0 failed)" in summaries[1]
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: feeds checked", ln) for ln in summaries)
    assert "stopped" in result.output


WIRE = [
    "Engineers at the Lakeport shipyard launched the region's first battery-electric ferry on Friday, "
    "a 60-metre vessel that will carry 300 passengers and 40 cars across the strait from September.",
    "The ferry's batteries will be charged at both terminals during the twelve-minute turnaround, using "
    "power from the new offshore wind farm, the operator said in a statement.",
    "The vessel cost 38 million euros, of which the national climate fund paid 15 million, and replaces "
    "a diesel ship built in 1987 that burned about 900,000 litres of fuel a year.",
    "Union representatives said crews had been trained over the winter and that no jobs would be lost, "
    "although two engineer posts will move to the shore-side charging station.",
    "Sea trials are planned for July and August, and the operator expects the certificate from the "
    "maritime authority in time for the autumn timetable.",
]


def test_syndicated_copies_from_three_outlets_are_one_cited_story(site, make_rag):
    from .fixtures.news_site import Story

    copies = [
        Story("/wire/ferry", "Battery ferry launched at Lakeport", WIRE, published="2025-06-06",
              outlet="Wire Service", canonical="/wire/ferry"),
        Story("/coast/electric-ferry", "Lakeport's electric ferry takes to the water", WIRE[:4] + [
              WIRE[4], "Reporting by Ana Ruiz; editing by Tom Berg."], published="2025-06-07", outlet="Coast Times"),
        Story("/daily/ferry-launch", "First battery ferry for the strait",
              WIRE[:2] + ["The vessel cost 38 million euros, of which the national climate fund paid 15 million, "
                          "and replaces a diesel ship from 1987 that burned about 900,000 litres of fuel a year."]
              + WIRE[3:], published="2025-06-08", outlet="Strait Daily"),
    ]
    rag = make_rag(**WEB)
    for n, story in enumerate(copies):
        site.add(story.path, story.html(site), etag=True)
        site.add(f"/feed{n}.xml", rss(site, [(story.path, story.title, None, None)], title=story.outlet),
                 "application/rss+xml", etag=True)
        rag.add_feed(site.url(f"/feed{n}.xml"))
    site.add(FERRY.path, FERRY.html(site))  # a different report on the same ferry line: its own story
    rag.ingest([site.url(FERRY.path)], progress=False)
    assert rag.sync(progress=False).new == 3
    [story] = rag.stories()
    assert [a.url for a in story.members] == [site.url(c.path) for c in copies]  # earliest first
    passages = rag.retrieve("battery-electric ferry Lakeport shipyard cost", top_k=5, as_of="2025-06-30")
    assert [p.url for p in passages].count(site.url(copies[0].path)) >= 1
    assert not {p.url for p in passages} & {site.url(c.path) for c in copies[1:]}  # top-k spent on no copy
    answer = rag.ask("How much did the national climate fund pay towards the vessel?", as_of="2025-06-30")
    assert "15 million" in answer.text
    cited = answer.citations[0]
    assert cited.url == site.url(copies[0].path)  # the earliest
    assert [(r.outlet, r.url) for r in cited.also_reported_by] == [
        ("Coast Times", site.url(copies[1].path)), ("Strait Daily", site.url(copies[2].path))]


def test_a_sync_killed_after_storing_a_changed_page_is_completed_by_the_next(site, make_rag, monkeypatch):
    rag = make_rag(**WEB)
    rag.add_feed(serve(site, FERRY, BRIDGE))
    rag.sync(progress=False)
    changed = FERRY.__class__(**{**FERRY.__dict__, "paragraphs": [
        p.replace("4.50 euros", "9.99 euros") for p in FERRY.paragraphs]})
    serve(site, changed, BRIDGE, MARKET)  # the feed changes too (a new item): it is read again
    real = rag.ingest

    calls = []

    def killed(paths, **kwargs):
        calls.append(paths)
        if len(calls) == 1:
            return real(paths, **kwargs)  # the resume step: nothing to finish yet
        raise KeyboardInterrupt  # the feed's pages and records are stored; the index is not touched

    monkeypatch.setattr(rag, "ingest", killed)
    with pytest.raises(KeyboardInterrupt):
        rag.sync(progress=False)
    assert len(calls) == 2 and site.count(FERRY.path, status=200) == 2  # killed after storing the new page
    monkeypatch.setattr(rag, "ingest", real)
    report = rag.sync(progress=False)  # the pages now answer 304: the stored copies are what get indexed
    assert (report.new, report.updated) == (1, 1), report
    [top] = rag.retrieve("Lakeport ferry crossing fare from July", top_k=1, as_of="2025-06-10")
    assert "9.99 euros" in top.text and "4.50" not in top.text


def test_a_canonical_url_naming_another_article_does_not_replace_it(site, make_rag):
    rag = make_rag(**WEB)
    lying = [FERRY.__class__(**{**s.__dict__, "canonical": "/"}) for s in (FERRY, BRIDGE, MARKET)]  # a CMS slip
    for story in lying:
        site.add(story.path, story.html(site))
    claims = BRIDGE.__class__(**{**BRIDGE.__dict__, "path": "/other/page", "canonical": FERRY.path,
                                 "title": "Bridge study, reprinted"})
    site.add(claims.path, claims.html(site))
    report = rag.ingest([site.url(s.path) for s in lying] + [site.url(claims.path)], progress=False)
    assert report.added == 4, report
    assert {a.url for a in rag.documents()} == {site.url(s.path) for s in lying} | {site.url(claims.path)}


def test_a_record_whose_page_is_gone_fetches_the_page_again(site, make_rag):
    rag = make_rag(**WEB)
    site.add(FERRY.path, FERRY.html(site), etag=True)
    rag.ingest([site.url(FERRY.path)], progress=False)
    from rag.web.pages import Pages

    pages = Pages(rag.settings.data_dir)
    pages.path_for(site.url(FERRY.path)).unlink()  # a crash, or a hand, took the page but not its record
    report = rag.ingest([site.url(FERRY.path)], progress=False)
    assert report.skipped == [] and site.count(FERRY.path, status=200) == 2


def test_a_page_that_is_no_article_is_named_by_its_url(site, make_rag):
    rag = make_rag(**WEB)
    site.add("/empty", "<html><body><nav>Home</nav></body></html>")
    [skipped] = rag.ingest([site.url("/empty")], progress=False).skipped
    assert skipped.path == site.url("/empty") and "no article text" in skipped.reason


@pytest.mark.parametrize("broken, keeps_validators", [(404, True), (500, False)])
def test_only_a_passing_failure_costs_the_feed_its_conditional_get(site, make_rag, broken, keeps_validators):
    rag = make_rag(**{**WEB, "fetch_retries": 0})
    site.add(FERRY.path, FERRY.html(site), etag=True)
    site.status("/broken", broken)
    site.add("/feed.xml", rss(site, [(FERRY.path, "Ferry", None, None), ("/broken", "Broken", None, None)]),
             "application/rss+xml", etag=True)
    rag.add_feed(site.url("/feed.xml"))
    report = rag.sync(progress=False)
    assert [f.transient for f in report.failed] == [not keeps_validators]
    [feed] = rag.feeds()
    assert (feed.etag is not None) == keeps_validators and str(broken) in feed.error


def test_an_unchanged_feed_counts_only_the_items_a_sync_reads(site, make_rag):
    rag = make_rag(**WEB, feed_max_items=2)
    rag.add_feed(serve(site, FERRY, BRIDGE, MARKET))
    rag.sync(progress=False)
    again = rag.sync(progress=False)
    assert (again.feeds_unchanged, again.unchanged) == (1, 2)
    assert rag.feeds()[0].items == 3  # what the feed lists


def test_a_rename_during_a_sync_is_kept(tmp_path):
    from rag.web.feeds import FeedRegistry

    feeds = FeedRegistry(tmp_path)
    feeds.add("https://news.example/rss")
    FeedRegistry(tmp_path).add("https://news.example/rss", name="Gazette")  # another process, meanwhile
    feeds.update("https://news.example/rss", error="HTTP 500", etag='"v2"')  # the sync's findings
    [feed] = feeds.all()
    assert (feed.name, feed.error, feed.etag) == ("Gazette", "HTTP 500", '"v2"')


def test_an_article_from_the_web_is_named_by_its_url(site, make_rag):
    rag = make_rag(**WEB)
    rag.add_feed(serve(site, FERRY, BRIDGE))
    rag.sync(progress=False)
    only = rag.retrieve("ferry fare", filters={"sources": [site.url(FERRY.path) + "?utm_source=x"]},
                        as_of="2025-06-10")
    assert only and {p.url for p in only} == {site.url(FERRY.path)}
    rag.remove([site.url(FERRY.path)])  # the URL its citations show
    assert {a.url for a in rag.documents()} == {site.url(BRIDGE.path)}
    from rag import UnknownSourceError

    with pytest.raises(UnknownSourceError):
        rag.remove([site.url("/never/fetched")])


def test_a_feed_that_cannot_be_read_is_counted_apart_and_fails_the_command(site, tmp_path):
    site.status("/gone.xml", 404)
    env = {"RAG_DATA_DIR": str(tmp_path / "index"), "RAG_FETCH_ALLOW_NETWORKS": "127.0.0.1",
           "RAG_FETCH_HOST_INTERVAL_S": "0"}
    runner = CliRunner()
    runner.invoke(app, ["feed", "add", site.url("/gone.xml")], env=env)
    result = runner.invoke(app, ["sync"], env=env)
    assert result.exit_code == 1
    assert "feeds checked 1 (0 unchanged, 1 failed); articles new 0, updated 0, unchanged 0, failed 0" in result.output


def test_an_unchanged_feed_keeps_its_last_failures(site, make_rag):
    rag = make_rag(**{**WEB, "fetch_retries": 0})
    site.add(FERRY.path, FERRY.html(site), etag=True)
    site.status("/gone", 404)
    site.add("/feed.xml", rss(site, [(FERRY.path, "Ferry", None, None), ("/gone", "Gone", None, None)]),
             "application/rss+xml", etag=True)
    rag.add_feed(site.url("/feed.xml"))
    rag.sync(progress=False)
    again = rag.sync(progress=False)
    assert (again.feeds_unchanged, again.unchanged) == (1, 1)  # the one article indexed, not the dead link
    [feed] = rag.feeds()
    assert feed.failed == 1 and "404" in feed.error
