"""The page in a real browser: Debian's chromium driven by Playwright (no browser download).

Screenshots go to ``test-artifacts/`` for a human to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from rag import RAG, Settings
from tests.conftest import ARTICLES, CALL_FILE, ROOT
from tests.fixtures.files import XSS_QUESTION, XSS_TITLE, write_xss_article
from tests.fixtures.net import free_port
from rag.server.run import guard_policy, make_server, start_in_thread
from rag.server.throttle import JobBudget
from ui.site import answering, page_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CALL_Q = "How long did Trump's phone call with Putin last?"
TIMEOUT = 60_000  # ms; the first answer also warms the model


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must `apt-get install chromium`")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(embedder, tmp_path_factory):
    """The page on a free loopback port over the sample corpus plus the hostile article."""
    folder = tmp_path_factory.mktemp("browser_articles")
    shutil.copytree(ARTICLES, folder, dirs_exist_ok=True)
    write_xss_article(folder)
    yield from serve(folder, tmp_path_factory.mktemp("browser_index"), embedder)


def serve(articles, data_dir, embedder, **settings):
    """Index ``articles`` into ``data_dir`` and serve the page as rag-ui does (behind the guard) on a free
    loopback port, with these ``Settings`` overrides: yields its URL, then stops it (the body of a fixture)."""
    rag = RAG(Settings(data_dir=data_dir, **settings), embedder=embedder)
    rag.ingest([articles], progress=False)
    port = free_port()
    app = page_app(rag, upload_dir=data_dir / "uploads")
    policy = guard_policy(rag.settings, "127.0.0.1", answering(app))
    policy.jobs = JobBudget(burst=1000)  # one browser asks, uploads and removes in quick succession here;
    server = make_server(app, policy, "127.0.0.1", port)  # the budget itself is tested in test_serving
    thread = start_in_thread(server)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join()


def open_page(browser, url: str, height: int = 1000):
    """A fresh browser context on the page (1400 pixels wide, ``height`` high), loaded; ``page.problems``
    collects page errors, dialogs and any request leaving loopback. Close ``page.context`` after use."""
    context = browser.new_context(viewport={"width": 1400, "height": height})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("request", lambda req: None if req.url.startswith(("http://127.0.0.1", "data:", "blob:"))
            else page.problems.append(f"outside request: {req.url}"))
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=TIMEOUT)
    return page


@pytest.fixture
def page(browser, site):
    page = open_page(browser, site)
    yield page
    page.context.close()


def ask(page, question: str) -> None:
    """Type ``question``, press Enter, wait until a new answer has replaced its placeholder."""
    before = page.locator("#chat .bot").count()
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(before) => { const b = document.querySelectorAll('#chat .bot'); return b.length > before &&"
        " !/Searching the articles|Loading content/.test(b[b.length - 1].innerText) }", arg=before, timeout=TIMEOUT)
    page.wait_for_function(  # the sources panel re-renders just after the chat
        "(q) => { const h = document.querySelector('#sources .rag-question'); return h && h.innerText.includes(q) }",
        arg=question, timeout=TIMEOUT)


def screenshot(page, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000
    return path


def test_question_answer_and_citation_opens_the_highlighted_passage(page):
    ask(page, CALL_Q)
    badge = page.locator("#chat a.cite").first
    badge.wait_for(timeout=TIMEOUT)
    assert "40-minute phone call" in page.locator("#chat .bot").last.inner_text()
    target = badge.get_attribute("href").lstrip("#").split("?")[0]
    # close every passage first, so the click has to open the right one
    page.evaluate("() => document.querySelectorAll('#sources details').forEach(d => d.open = false)")
    assert not page.locator(f"#{target} mark.quote").is_visible()
    badge.click()
    passage = page.locator(f"#{target}")
    mark = passage.locator("mark.quote")
    mark.wait_for(state="visible", timeout=5_000)
    assert "40-minute phone call" in mark.inner_text()
    assert CALL_FILE in page.locator(f"details.article:has(#{target}) > summary").inner_text()
    assert "active" in passage.get_attribute("class")
    assert page.url.rstrip("/") == page.url.split("#")[0].rstrip("/") and len(page.context.pages) == 1
    markdown = page.locator("#answer-markdown textarea")
    page.get_by_text("Copy the answer as Markdown").click()
    assert "Sources:" in markdown.input_value() and "40-minute" in markdown.input_value()
    screenshot(page, "ui-chat-first.png")
    assert page.problems == []

    other = page.context.browser.new_context().new_page()  # a second user: a conversation of their own
    other.goto(page.url)
    other.wait_for_selector("#question textarea", timeout=TIMEOUT)
    assert other.locator("#chat .bot").count() == 0 and "Ask a question" in other.locator("#sources").inner_text()
    other.context.close()


def test_hostile_article_shows_as_text_and_runs_nothing(page):
    ask(page, XSS_QUESTION)
    bot = page.locator("#chat .bot").last
    assert "<script>window.__xss = 2</script>" in bot.inner_text()
    assert "4,812 ballots" in bot.inner_text()
    badge = bot.locator("a.cite").first
    target = badge.get_attribute("href").lstrip("#").split("?")[0]
    page.evaluate("() => document.querySelectorAll('#sources details').forEach(d => d.open = false)")
    badge.click()
    passage = page.locator(f"#{target}")
    mark = passage.locator("mark.quote")
    mark.wait_for(state="visible", timeout=5_000)
    assert "<script>window.__xss = 2</script>" in mark.inner_text()
    text = passage.inner_text()
    for literal in ('<img src=x onerror="window.__xss=3">', "[click here](javascript:window.__xss=4)",
                    "${window.__xss=5}", "{{constructor.constructor('window.__xss=7')()}}", "<iframe src="):
        assert literal in text
    assert XSS_TITLE in page.locator(f"details.article:has(#{target}) > summary").inner_text()

    # the article filter lists the hostile title as text; choosing it limits the sources to that file
    page.get_by_text("Filters and answer settings").click()
    page.locator("#article-filter input").click()
    option = page.get_by_role("option", name=re.compile("Zorbland counts its ballots"))
    assert XSS_TITLE in option.inner_text()
    option.click()
    page.keyboard.press("Escape")
    ask(page, CALL_Q)
    latest = page.locator("#sources section.rag-turn").first
    summaries = latest.locator("details.article > summary").all_inner_texts()
    assert summaries and all('zorb_<img src=x onerror="window.__xss=6">.txt' in s for s in summaries)
    screenshot(page, "ui-xss.png")

    page.get_by_role("tab", name="Library").click()
    library = page.locator("#library")
    library.get_by_text("Zorbland counts its ballots", exact=False).first.wait_for(timeout=TIMEOUT)
    assert XSS_TITLE in library.inner_text() and 'onerror="window.__xss=6"' in library.inner_text()
    page.locator("#upload input[type=file]").set_input_files(
        files=[{"name": '<img src=x onerror="window.__xss=9">.txt', "mimeType": "text/plain", "buffer": b""}])
    page.get_by_role("button", name="Add to index").click()
    page.locator("#library-summary").get_by_text("skipped 1").wait_for(timeout=TIMEOUT)
    assert "onerror" in page.locator("#library-summary").inner_text()
    page.wait_for_timeout(1000)  # give any injected handler time to fire
    assert page.evaluate("() => window.__xss") is None
    selector = "#chat img, #sources img, #sources iframe, #chat iframe, #library img, #library-summary img, [role=option] img"
    assert page.locator(selector).count() == 0
    assert page.problems == []


def test_library_upload_and_remove_in_the_browser(page, tmp_path):
    new = tmp_path / "Quokka census.md"
    new.write_text("# Quokka census finds 12,000 animals\n\nRangers on Rottnest Island counted 12,000 quokkas "
                   "in the spring census, officials said.\n", encoding="utf-8")
    page.get_by_role("tab", name="Library").click()
    page.locator("#upload input[type=file]").set_input_files(str(new))
    page.get_by_role("button", name="Add to index").click()
    summary = page.locator("#library-summary")
    summary.get_by_text("Indexed.").wait_for(timeout=TIMEOUT)
    assert "added 1" in summary.inner_text()
    page.locator("#library").get_by_text("Quokka census finds 12,000 animals").wait_for(timeout=TIMEOUT)
    screenshot(page, "ui-library.png")

    page.get_by_role("tab", name="Chat").click()
    ask(page, "How many quokkas did the census count?")
    assert "12,000" in page.locator("#chat .bot").last.inner_text()

    page.get_by_role("tab", name="Library").click()
    page.locator("#remove-select input").click()
    page.get_by_role("option", name=re.compile("Quokka census")).click()
    page.get_by_role("button", name="Remove from index").click()
    summary.get_by_text("Removed 1 article(s)").wait_for(timeout=TIMEOUT)
    page.wait_for_function("() => !/Quokka census/.test(document.querySelector('#library').innerText)",
                           timeout=TIMEOUT)
    assert page.problems == []
