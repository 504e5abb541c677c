"""The Library tab's web side in a real browser: follow a feed of the loopback news site, see its row and its
articles (the article table never blanked meanwhile), then ask about an article and follow the citation's link.

Playwright drives Debian's chromium, as in ``test_ui_browser``; the screenshot goes to ``test-artifacts/``.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import ARTICLES
from tests.fixtures.news_site import BRIDGE, FERRY, MARKET, rss
from tests.test_ui_browser import TIMEOUT, ask, browser, open_page, screenshot, serve  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

WEB = dict(fetch_allow_networks="127.0.0.1", fetch_host_interval_s=0, fetch_backoff_s=0, fetch_retries=1)
FERRY_Q = "How much will a Lakeport ferry crossing cost from July?"

# Records, at every change to the article table, whether it shows no rows, is hidden, or is covered by
# Gradio's progress overlay (its status tracker without the "hide" class): what a reader saw as a blank table.
WATCH_TABLE = """() => {
  const table = document.querySelector('#library');
  const seen = window.__tableWatch = {blanked: [], mutations: 0, rows: 0};
  const check = () => {
    const rows = table.querySelectorAll('.virtual-row').length;
    const tracker = table.querySelector('[data-testid=status-tracker]');
    const covered = !!tracker && !tracker.classList.contains('hide');
    seen.rows = rows;
    if (rows === 0 || covered || table.offsetParent === null) seen.blanked.push({rows, covered});
  };
  new MutationObserver(() => { seen.mutations++; check(); })
    .observe(table, {subtree: true, childList: true, attributes: true, characterData: true});
  check();
}"""


@pytest.fixture
def page(browser, site, embedder, tmp_path):  # noqa: F811 (the browser fixture, imported)
    """The page over the sample corpus, allowed to fetch from the loopback news ``site``."""
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    served = serve(folder, tmp_path / "index", embedder, **WEB)
    page = open_page(browser, next(served))
    yield page
    page.context.close()
    next(served, None)


def cells(page, table: str) -> list[list[str]]:
    """The text of each body row of a Dataframe."""
    return page.evaluate(
        "(id) => [...document.querySelectorAll(`#${id} .virtual-row`)].map(r => "
        "[...r.querySelectorAll('[role=gridcell]')].map(c => c.innerText.trim()))", table)


def test_follow_a_feed_from_the_library_tab_and_ask_about_its_article(page, site):
    for story in (FERRY, BRIDGE, MARKET):
        site.add(story.path, story.html(site), etag=True)
    feed = site.url("/feed.xml")
    site.add("/feed.xml", rss(site, [(s.path + "?utm_source=rss", s.title, None, None)
                                     for s in (FERRY, BRIDGE, MARKET)]), "application/rss+xml", etag=True)
    page.get_by_role("tab", name="Library").click()
    library = page.locator("#library")
    library.get_by_text("Trump", exact=False).first.wait_for(timeout=TIMEOUT)
    page.wait_for_function("() => document.querySelector('#library [data-testid=status-tracker]')"
                           ".classList.contains('hide')", timeout=TIMEOUT)  # the page load's refresh is over
    before = len(cells(page, "library"))
    page.evaluate(WATCH_TABLE)

    page.fill("#web-address textarea, #web-address input", feed)
    page.get_by_role("button", name="Follow feed").click()
    summary = page.locator("#library-summary")
    summary.get_by_text("Following").wait_for(timeout=TIMEOUT)
    assert "articles new 3" in summary.inner_text() and "failed 0" in summary.inner_text()
    page.locator("#feeds .virtual-row").get_by_text("Harbour Gazette").wait_for(timeout=TIMEOUT)  # its channel
    library.locator(".virtual-row").get_by_text(FERRY.title).wait_for(timeout=TIMEOUT)
    page.wait_for_function("(n) => window.__tableWatch.rows === n", arg=before + 3, timeout=TIMEOUT)

    [row] = cells(page, "feeds")
    assert row[0] == "Harbour Gazette" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", row[1])
    assert row[2:] == ["3", "3", "0", "0", "0", ""]  # items, new, updated, unchanged, failed, no problem
    titles = {r[0] for r in cells(page, "library")}
    assert {FERRY.title, BRIDGE.title, MARKET.title} <= titles
    watched = page.evaluate("() => window.__tableWatch")
    assert watched["mutations"] > 0 and watched["blanked"] == [], watched  # the old rows stayed until the new
    page.set_viewport_size({"width": 1400, "height": 900})  # the tab from the article table down, one screen
    page.evaluate("() => window.scrollTo(0, document.querySelector('#library').getBoundingClientRect().top"
                  " + window.scrollY - 16)")
    screenshot(page, "ui-library-feeds.png", full_page=False)

    page.get_by_role("tab", name="Chat").click()
    ask(page, FERRY_Q)
    assert "4.50 euros" in page.locator("#chat .bot").last.inner_text()
    cited = page.locator("#sources section.rag-turn").first.locator("details.article.cited")
    assert FERRY.title in cited.first.locator("> summary").inner_text()
    link = cited.first.locator("a.source-link")
    assert link.get_attribute("href") == site.url(FERRY.path)  # the article's canonical URL, tracking gone
    assert link.inner_text() == f"{site.url(FERRY.path)} ↗"  # its only name: the stored file's says nothing
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    assert page.problems == []
