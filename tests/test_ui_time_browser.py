"""Time in the page, in a real browser over our dated corpus (eval/datasets/temporal): the 'Answer as of' date,
the resolved time words and the notes under an answer, and the Timeline tab. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from tests.test_ui_browser import TIMEOUT, ask, browser, open_page, screenshot, serve  # noqa: F401 (browser)

pytestmark = pytest.mark.browser

DATED = ROOT / "eval" / "datasets" / "temporal"


@pytest.fixture(scope="module")
def dated_site(embedder, tmp_path_factory):
    yield from serve(DATED, tmp_path_factory.mktemp("browser_dated_index"), embedder)


@pytest.fixture
def page(browser, dated_site):  # noqa: F811
    page = open_page(browser, dated_site)
    yield page
    page.context.close()


def _set_as_of(page, day: str, *, open_settings: bool = True) -> None:
    if open_settings:
        page.get_by_text("Filters and answer settings").click()
    box = page.locator("#as-of input").first
    box.wait_for(state="visible", timeout=TIMEOUT)
    box.fill(day)
    box.press("Enter")  # the picker commits a typed date on Enter or blur


def test_an_answer_as_of_a_date_says_the_date_its_time_words_and_its_notes(page):
    _set_as_of(page, "13 June 2025")  # typed in words: Gradio's picker rejects it, the page sends the text
    ask(page, "How much will the Lakeport ferry cost, according to the latest estimate?")
    bubble = page.locator("#chat .bot").last
    text = bubble.inner_text()
    assert "As of 13 June 2025" in text and '"latest" -> newest first' in text
    assert "18 million dollars" in text
    note = bubble.locator(".rag-notice")
    assert "Reports differ: 18 million dollars on 9 June 2025" in note.inner_text()
    assert note.locator("a.cite").count() >= 2  # the note's [n] are live badges too
    sources = page.locator("#sources").inner_text()
    assert "coastalwire.net" in sources and "2025-06-09" in sources
    assert max(re.findall(r"\b2025-\d\d-\d\d\b", sources)) <= "2025-06-13"  # nothing after as_of is listed
    screenshot(page, "ui-as-of.png")

    ask(page, "Who won the Lakeport special election?")  # held in July: after as_of, so not in the articles
    assert "Not in the articles" in page.locator("#chat .bot").last.inner_text()

    _set_as_of(page, "mid June", open_settings=False)  # not a day: said, never silently today
    ask(page, "Who won the Lakeport special election?")
    assert "As of date 'mid June' is not a date" in page.locator("#chat .bot").last.inner_text()
    assert page.problems == []


def test_the_timeline_tab_lists_dated_cited_events_oldest_first(page):
    page.get_by_role("tab", name="Timeline").click()
    page.fill("#timeline-topic textarea, #timeline-topic input", "the Lakeport ferry")
    page.click("#timeline-show")
    page.wait_for_selector("#timeline .rag-event", timeout=TIMEOUT)
    days = page.locator("#timeline .rag-event time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    assert len(days) >= 5 and days == sorted(days) and days[0] == "2025-03-03"
    first = page.locator("#timeline .rag-event").first
    assert "3 March 2025" in first.inner_text() and "lakeportherald.com" in first.inner_text()
    first.locator("summary").click()
    assert "passenger ferry" in first.locator("mark.quote").inner_text()
    screenshot(page, "ui-timeline.png")

    page.fill("#timeline-topic textarea, #timeline-topic input", "the Millbrook library")
    page.click("#timeline-show")
    page.wait_for_function("() => /Millbrook/.test(document.querySelector('#timeline').innerText)", timeout=TIMEOUT)
    assert page.problems == []
