"""The chat page as a reader meets it, in Debian's chromium at 1400x900: controls in reach, sources in a
reader's words, every badge alive, the whole article a click away, conversations kept, keyboard use and an
automated accessibility check (axe-core)."""

from __future__ import annotations

import re

import pytest

from tests.test_ui_browser import (  # noqa: F401 (fixtures)
    CALL_Q,
    TIMEOUT,
    ask,
    browser,
    open_page,
    screenshot,
    site,
)

pytestmark = pytest.mark.browser

QUESTIONS = [CALL_Q, "What did the Kremlin say about talks with Zelensky?", "Who is the NATO Secretary General?",
             "What did Lavrov say about peace?"]


@pytest.fixture
def page(browser, site):  # noqa: F811 (the fixtures imported above)
    page = open_page(browser, site, height=900)
    yield page
    page.context.close()


def in_view(page, selector: str) -> bool:
    """Whether the element is wholly inside the window as it is now (nothing scrolled)."""
    return page.evaluate("""(selector) => { const r = document.querySelector(selector).getBoundingClientRect();
        return r.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }""", selector)


def wait_saved(page, answers: int, conversations: int | None = None) -> None:
    """Wait until the browser's storage lists the newest conversation with ``answers`` answers (and holds
    ``conversations`` of them): saving is a step after the answer shows."""
    page.wait_for_function("""([answers, count]) => {
        const items = JSON.parse(localStorage.getItem('newsrag:conversations') || '[]')
          .sort((a, b) => String(b.updated).localeCompare(String(a.updated)));
        return items.length > 0 && items[0].answers === answers && (count === null || items.length === count); }""",
                           arg=[answers, conversations], timeout=TIMEOUT)


def visible_sources(page) -> str:
    """The sources panel's text as shown: a closed toggle's contents are not rendered, so not included."""
    return page.locator("#sources").inner_text()


def test_controls_stay_in_reach_after_three_answers_and_no_raw_scores_show(page):
    for question in QUESTIONS[:3]:
        ask(page, question)
    assert page.evaluate("window.scrollY") == 0
    assert in_view(page, "#settings") and in_view(page, "#question textarea")
    assert not page.locator("#chat [data-testid='block-label']").is_visible()  # no chip over the first line
    screenshot(page, "ui-chat.png", full_page=False)  # the README's: what a reader sees after three answers
    fonts = page.evaluate("[...document.querySelectorAll('#sources b, h1')].map(e => getComputedStyle(e).fontFamily)")
    assert fonts and all(f.startswith("ui-sans-serif") for f in fonts)  # the system's font, bold face and all
    page.get_by_text("Filters and answer settings").click()
    page.locator("#article-filter").wait_for(timeout=TIMEOUT)
    screenshot(page, "ui-settings.png", full_page=False)

    shown = visible_sources(page)
    assert not re.search(r"score \d|dense|\d\.\d{3}", shown, re.I), shown
    assert "Shares with the question: “NATO”, “Secretary”, “General”" in shown  # why each passage is there
    scores = page.locator("#sources section.rag-turn").first.locator("details.scores").first
    scores.locator("summary").click()
    assert "Fused rank score" in scores.inner_text()  # for those who want them, one click away
    assert page.problems == []


def test_sources_show_one_entry_per_article_with_its_passages_inside(page):
    ask(page, QUESTIONS[1])
    latest = page.locator("#sources section.rag-turn").first
    entries = latest.locator("details.article > summary").all_inner_texts()
    titles = [re.sub(r"^(\[\d+\])+\s*", "", e).split(" · ")[0].replace("cited", "").strip() for e in entries]
    assert len(titles) == len(set(titles)) and len(latest.locator(".passage").all()) == 5
    assert any(len(re.findall(r"\[\d+\]", e)) > 1 for e in entries)  # an article holding two passages


def test_a_badge_of_the_first_of_twelve_answers_opens_its_passage(page):
    for i in range(12):
        ask(page, QUESTIONS[i % len(QUESTIONS)])
    first = page.locator("#chat .bot").first.locator("a.cite").first
    target = first.get_attribute("href").lstrip("#").split("?")[0]
    assert target.startswith("passage-1-")
    page.evaluate("() => document.querySelectorAll('#sources details').forEach(d => d.open = false)")
    first.scroll_into_view_if_needed()
    first.click()
    passage = page.locator(f"#{target}")
    passage.locator("mark.quote").wait_for(state="visible", timeout=TIMEOUT)
    assert "40-minute phone call" in passage.locator("mark.quote").inner_text()
    assert "active" in passage.get_attribute("class")

    # a badge whose passage is no longer on the page opens the cited sentence in its article instead
    page.evaluate("() => document.querySelector('#sources section.rag-turn[data-turn=\"1\"]').remove()")
    first.click()
    cited = page.locator("#article-view #article-cited")
    cited.wait_for(state="visible", timeout=TIMEOUT)
    assert "40-minute phone call" in cited.inner_text()
    assert page.problems == []


def test_the_article_view_scrolls_to_and_highlights_the_cited_sentence(page):
    ask(page, CALL_Q)
    quote = page.locator("#sources .passage.cited mark.quote").first.inner_text()
    page.locator("#sources .passage.cited button.read-article").first.click()
    dialog = page.get_by_role("dialog")
    cited = dialog.locator("#article-cited")
    cited.wait_for(state="visible", timeout=TIMEOUT)
    assert cited.inner_text() == quote and "40-minute phone call" in quote
    assert "Trump Pulls Back from Direct Role" in dialog.locator("#article-title").inner_text()
    assert "undated" in dialog.inner_text()  # the sample articles carry no date: said, not hidden
    box, mark = dialog.locator(".article-body").bounding_box(), cited.bounding_box()
    head = dialog.locator(".article-head").bounding_box()
    assert head["y"] + head["height"] <= mark["y"] and mark["y"] + mark["height"] <= box["y"] + box["height"]
    assert box["y"] <= head["y"] and dialog.locator("#article-title").is_visible()  # scrolled to it, title on top
    assert page.evaluate("getComputedStyle(document.querySelector('#article-cited')).backgroundColor") != \
        "rgba(0, 0, 0, 0)"
    text = dialog.locator(".article-text").inner_text()
    assert len(text) > 3 * len(quote) and text.index(quote) > 0  # the whole article, not just the passage
    screenshot(page, "ui-article.png", full_page=False)
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    assert page.problems == []


def test_a_reload_or_a_second_tab_keeps_the_conversation_and_it_can_be_deleted(page):
    ask(page, CALL_Q)
    ask(page, "Who did he talk to before it?")
    answers = page.locator("#chat .bot").all_inner_texts()
    wait_saved(page, 2)
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#chat .bot').length == 2", timeout=TIMEOUT)
    assert page.locator("#chat .bot").all_inner_texts() == answers
    assert "Who did he talk to before it?" in visible_sources(page)
    page.locator("#chat a.cite").first.click()  # badges of a restored answer still open their passage
    page.locator("#sources .passage.active mark.quote").wait_for(state="visible", timeout=TIMEOUT)

    second = page.context.new_page()  # a second tab finds the latest conversation
    second.goto(page.url)
    second.wait_for_function("() => document.querySelectorAll('#chat .bot').length == 2", timeout=TIMEOUT)

    # a new conversation; the first stays in the list and opens again
    second.locator("#new-chat").click()
    second.wait_for_function("() => document.querySelectorAll('#chat .bot').length == 0", timeout=TIMEOUT)
    second.get_by_text("Saved conversations").first.click()
    second.get_by_role("button", name="Delete this conversation…").click()  # nothing saved yet: said, not asked
    second.get_by_text("Nothing to delete").wait_for(timeout=TIMEOUT)
    assert not second.get_by_role("button", name="Yes, delete it").is_visible()
    second.get_by_text("Saved conversations").first.click()
    ask(second, "What security guarantees does Ukraine want?")
    wait_saved(second, 1, conversations=2)
    second.get_by_text("Saved conversations").first.click()  # open the list
    saved = second.locator("#conversation-list label")
    saved.nth(1).wait_for(timeout=TIMEOUT)
    labels = saved.all_inner_texts()
    assert len(labels) == 2 and "What security guarantees" in labels[0] and "How long did Trump" in labels[1]
    assert "2 answers" in labels[1]
    saved.nth(1).click()
    second.wait_for_function("() => document.querySelectorAll('#chat .bot').length == 2", timeout=TIMEOUT)
    assert second.locator("#chat .bot").all_inner_texts() == answers
    follow = second.locator("#chat .bot").count()
    ask(second, "How long did it last?")  # the reopened conversation goes on, with its history
    assert second.locator("#chat .bot").count() == follow + 1
    wait_saved(second, 3)

    second.get_by_role("button", name="Delete this conversation…").click()
    second.get_by_role("button", name="No, keep it").click()  # asked first; kept
    assert second.locator("#chat .bot").count() == follow + 1
    second.get_by_role("button", name="Delete this conversation…").click()
    second.get_by_role("button", name="Yes, delete it").click()
    second.wait_for_function("() => document.querySelectorAll('#chat .bot').length == 0", timeout=TIMEOUT)
    second.wait_for_function("() => document.querySelectorAll('#conversation-list label').length == 1",
                             timeout=TIMEOUT)
    second.reload()
    second.wait_for_selector("#question textarea", timeout=TIMEOUT)
    second.get_by_text("Saved conversations").first.click()
    second.wait_for_function("() => document.querySelectorAll('#conversation-list label').length == 1",
                             timeout=TIMEOUT)
    assert "What security guarantees" in second.locator("#conversation-list").inner_text()
    assert page.problems == []


def test_two_tabs_asking_at_the_same_moment_both_keep_their_answers(page):
    ask(page, CALL_Q)
    wait_saved(page, 1)
    other = page.context.new_page()
    other.goto(page.url)
    other.wait_for_function("() => document.querySelectorAll('#chat .bot').length == 1", timeout=TIMEOUT)
    for tab, question in ((page, "Who is the NATO Secretary General?"), (other, "What did Lavrov say about peace?")):
        tab.fill("#question textarea", question)
    page.keyboard.press("Enter")
    other.keyboard.press("Enter")  # at once: both answers are written, then both saved, close together
    for tab in (page, other):
        tab.wait_for_function("() => document.querySelectorAll('#chat .bot').length == 2 && "
                              "!/Searching/.test(document.querySelector('#chat .bot:last-of-type').innerText)",
                              timeout=TIMEOUT)
    wait_saved(page, 3)
    ask(other, "How long did Trump's call last?")  # a later save from a tab that missed one answer appends too
    wait_saved(other, 4)
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#chat .bot').length == 4", timeout=TIMEOUT)
    shown = sorted(q.strip() for q in page.locator("#chat .user").all_inner_texts())
    assert shown == sorted([CALL_Q, "Who is the NATO Secretary General?", "What did Lavrov say about peace?",
                            "How long did Trump's call last?"])
    assert page.problems == []


def test_two_tabs_answering_in_one_conversation_both_keep_their_answers(page):
    ask(page, CALL_Q)
    wait_saved(page, 1)
    other = page.context.new_page()  # opens the same, latest conversation
    other.goto(page.url)
    other.wait_for_function("() => document.querySelectorAll('#chat .bot').length == 1", timeout=TIMEOUT)
    ask(page, "Who is the NATO Secretary General?")
    wait_saved(page, 2)
    ask(other, "What did Lavrov say about peace?")  # this tab has not seen the NATO answer
    wait_saved(other, 3)
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#chat .bot').length == 3", timeout=TIMEOUT)
    shown = page.locator("#chat .user").all_inner_texts()
    assert [q.strip() for q in shown] == [CALL_Q, "Who is the NATO Secretary General?",
                                          "What did Lavrov say about peace?"]
    assert page.problems == []


def test_keyboard_alone_opens_a_citation_and_the_article(page):
    page.locator("#rag-skip").wait_for(state="attached", timeout=TIMEOUT)  # added by the page's script
    page.keyboard.press("Tab")  # the first stop skips everything to the question box
    assert page.evaluate("document.activeElement.textContent") == "Skip to the question box"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.matches('#question textarea')")
    assert not page.locator("#delete-conversation").is_visible()  # a closed list holds no focusable button
    page.keyboard.type(CALL_Q)
    page.keyboard.press("Enter")
    page.locator("#chat a.cite").first.wait_for(timeout=TIMEOUT)
    page.wait_for_function("() => document.querySelector('#sources .rag-turn')", timeout=TIMEOUT)
    page.locator("#question textarea").focus()
    for _ in range(40):  # Shift+Tab back from the question box into the chat, to the last badge
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.matches('a.cite')"):
            break
    else:
        pytest.fail("no citation badge is reachable with the keyboard")
    name = page.evaluate("document.activeElement.textContent")  # its name for a screen reader
    assert re.fullmatch(r"\[\d+\] Source \d+: Trump Pulls Back from Direct Role.*", name), name
    target = page.evaluate("document.activeElement.getAttribute('href')").lstrip("#").split("?")[0]
    page.keyboard.press("Enter")
    page.wait_for_function("(id) => document.activeElement && document.activeElement.id === id", arg=target,
                           timeout=TIMEOUT)  # the focus moved to the passage, now open
    assert page.locator(f"#{target} mark.quote").is_visible()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('button.read-article')"):
            break
    else:
        pytest.fail("the passage's 'Read the whole article' button is not reachable with the keyboard")
    page.keyboard.press("Enter")
    page.locator("#article-cited").wait_for(state="visible", timeout=TIMEOUT)
    assert page.evaluate("document.activeElement.matches('.article-close')")
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.matches('button.read-article')")  # focus given back
    assert page.problems == []


def test_a_question_over_the_limit_is_said_and_left_in_the_box(page):
    long = "Why " * 600  # 2,400 characters; the limit is 2,000
    page.fill("#question textarea", long)
    page.keyboard.press("Enter")
    page.get_by_text("the limit is 2,000").wait_for(timeout=TIMEOUT)
    page.wait_for_function("(long) => document.querySelector('#question textarea').value === long", arg=long,
                           timeout=TIMEOUT)  # given back whole, to shorten (the reply may come after the warning)
    assert page.locator("#chat .bot").count() == 0
    page.locator(".toast-header:not([role])").first.wait_for(timeout=TIMEOUT)
    page.wait_for_function("""() => {  // the warning wholly shown, not fading in (axe would see blended colours)
        const title = document.querySelector('.toast-title');
        for (let node = title; node && node !== document.body; node = node.parentElement) {
          if (getComputedStyle(node).opacity !== '1') return false;
        }
        return Boolean(title); }""", timeout=TIMEOUT)
    assert serious_violations(page) == []  # the warning included


def serious_violations(page) -> list:
    """axe-core's serious and critical findings on the page as it is now: (rule, impact, help, targets)."""
    from axe_playwright_python.sync_playwright import Axe

    return [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
            for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]


def test_the_page_passes_an_automated_accessibility_check(page):
    def serious() -> list:
        return serious_violations(page)

    found = {"empty page": serious()}
    ask(page, CALL_Q)
    page.locator("#sources details.scores summary").first.click()
    found["answer"] = serious()
    page.get_by_text("Filters and answer settings").click()
    page.locator("#date-from button.calendar[aria-label]").wait_for(timeout=TIMEOUT)
    page.get_by_text("Saved conversations").first.click()
    page.locator("#conversation-list label").first.wait_for(timeout=TIMEOUT)
    found["settings and conversations open"] = serious()
    page.locator("#sources .passage.cited button.read-article").first.click()
    page.locator("#article-cited").wait_for(state="visible", timeout=TIMEOUT)
    found["article"] = serious()
    page.keyboard.press("Escape")
    for tab in ("Timeline", "Library"):
        page.get_by_role("tab", name=tab).click()
        page.locator("#story-from button.calendar[aria-label]" if tab == "Timeline" else "#library").wait_for(
            timeout=TIMEOUT)
        found[tab] = serious()
    assert found == {state: [] for state in found}
