"""The page's HTML and Markdown, as pure functions: escaping, badges, highlights, abstention."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs

import pytest

from rag import Answer, ArticleInfo, Citation, Passage, UnsupportedSentence
from ui import render


def passage(text: str, title: str = "Title", file_name: str = "a.txt", score: float = 0.03, start: int = 0,
            ) -> Passage:
    return Passage(chunk_id=f"c-{title}-{start}", doc_id=f"d-{title}", text=text, title=title, source=f"/x/{file_name}",
                   file_name=file_name, start=start, end=start + len(text), score=score, dense_score=0.5)


def cite(n: int, p: Passage, quote: str) -> Citation:
    at = p.text.index(quote)
    return Citation(n=n, chunk_id=p.chunk_id, doc_id=p.doc_id, title=p.title, source=p.source, quote=quote,
                    start=p.start + at, end=p.start + at + len(quote), passage_start=at, passage_end=at + len(quote))


def visible_text(fragment: str) -> str:
    """What a browser shows for ``fragment``: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "![x](http://evil/x.png)",
    "${alert(1)} {{constructor}} $$x^2$$",
    "**bold** _it_ `code` # head | pipe ~~s~~ \\ &amp; \"q\" 'q'",
])
def test_escape_leaves_no_markup_and_shows_the_text_verbatim(hostile):
    out = render.escape(hostile)
    assert not re.search(r"[<>\[\]()*_`$\\{}]", out), out
    assert html.unescape(out) == hostile


def test_answer_badges_link_each_valid_marker_and_leave_others_as_text():
    p1, p2 = passage("Alpha said one thing.", "A <b>"), passage("Beta said another.", "B")
    answer = Answer(question="q", text="Alpha said one thing. [1] Beta said another. [2, 1] Stray [7].",
                    passages=[p1, p2], citations=[cite(1, p1, "Alpha said one thing."),
                                                  cite(2, p2, "Beta said another.")])
    out = render.answer_html(answer, turn=3)
    links = re.findall(r'<a class="cite" href="#(passage-3-\d)\?([^"]*)" title="([^"]*)">\[(\d)\]'
                       r'<span class="visually-hidden"> ([^<]*)</span></a>', out)
    assert [(a, n) for a, _, _, n, _ in links] == [("passage-3-1", "1"), ("passage-3-2", "2"), ("passage-3-1", "1")]
    assert html.unescape(links[0][4]) == html.unescape(links[0][2]) == "Source 1: A <b>"  # named, escaped too
    where = parse_qs(html.unescape(links[0][1]))  # the cited sentence's article and offsets
    assert where == {"doc": ["d-A <b>"], "start": ["0"], "end": ["21"]}
    assert "&#91;7&#93;" in out  # no passage 7: shown as text, not a link
    assert "<b>" not in out


def test_unsupported_sentences_are_marked_in_the_bubble_and_listed_in_sources():
    p1 = passage("Trump held a 40-minute phone call with Putin.")
    answer = Answer(question="q", mode="llm", model="m",
                    text="Trump held a 40-minute phone call with Putin. [1] He also flew to Mars.",
                    passages=[p1], citations=[cite(1, p1, "Trump held a 40-minute phone call with Putin.")],
                    unsupported=[UnsupportedSentence(sentence="He also flew to Mars.", reason="no citation")])
    bubble = render.answer_html(answer, 1)
    marked = re.findall(r'<span class="unsupported"[^>]*>(.*?)</span>', bubble)
    assert [visible_text(m) for m in marked] == ["⚠ He also flew to Mars."]
    assert "LLM answer by m" in bubble
    panel = render.sources_html(answer, 1)
    assert "unsupported-list" in panel and "He also flew to Mars." in visible_text(panel)


def test_sources_show_article_date_and_why_with_scores_behind_a_toggle_and_the_quote_highlighted():
    text = "First sentence here. The cited <sentence> is this one. Last one."
    p1, p2 = passage(text, "Cited article", "one.txt", 0.0325), passage("Other text.", "Other", "two.txt")
    quote = "The cited <sentence> is this one."
    answer = Answer(question="Which <one> sentence?", text=f"{quote} [1]", passages=[p1, p2],
                    citations=[cite(1, p1, quote)])
    panel = render.sources_html(answer, 2)
    starts = [m.start() for m in re.finditer('<details class="article', panel)]
    first = article = panel[starts[0]:starts[1]]
    assert article.startswith('<details class="article cited" open>') and "cited" in article
    summary = visible_text(article[:article.index("</summary>")])
    assert "[1]" in summary and "Cited article" in summary and "one.txt" in summary and "undated" in summary
    assert "Shares with the question: “sentence”" in visible_text(first)  # why it was retrieved, in words
    assert "score" not in visible_text(re.sub(r"<details class=\"scores\">.*?</details>", "", panel)).lower()
    assert re.search(r'<details class="scores"><summary>Scores</summary>.*Fused rank score 0\.0325', first)
    marks = re.findall(r'<mark class="quote">(.*?)</mark>', first)
    assert [visible_text(m) for m in marks] == [quote]
    button = re.search(r'<button type="button" class="read-article" data-doc="([^"]+)" data-ranges="([\d,-]+)" '
                       r'aria-label="([^"]+)">', first)
    assert button.group(2) == f"{text.index(quote)}-{text.index(quote) + len(quote)}"  # the quote's offsets
    assert "Read the whole article" in html.unescape(button.group(3))
    second = panel[starts[1]:]
    assert second.startswith('<details class="article">')  # not cited: folded, still there to read
    assert "Found by meaning: it shares no word with the question." in visible_text(second)
    assert "Which <one> sentence?" in visible_text(panel) and "<one>" not in panel
    two = Answer(question="Which one? Last?", text=f"{quote} [1] Last one. [1]", passages=[p1],
                 citations=[cite(1, p1, quote), cite(1, p1, "Last one.")])
    ranges = re.search(r'data-ranges="([^"]+)"', render.sources_html(two, 1)).group(1)
    assert ranges == f"{text.index(quote)}-{text.index(quote) + len(quote)},{text.index('Last one.')}-{len(text)}"
    assert "Which <one> sentence?" in visible_text(panel) and "<one>" not in panel


def test_passages_of_one_article_share_one_entry_in_rank_order():
    a1, b1, a2 = passage("Alpha one.", "A"), passage("Beta one.", "B"), passage("Alpha two.", "A", start=40)
    answer = Answer(question="alpha", text="Alpha two. [3]", passages=[a1, b1, a2], citations=[cite(3, a2, "Alpha two.")])
    panel = render.sources_html(answer, 1)
    entries = re.findall(r'<details class="article[^"]*"[^>]*>(.*?)</summary>', panel)
    assert [visible_text(e).split(" · ")[0] for e in entries] == ["[1][3] A cited", "[2] B"]
    assert panel.index('id="passage-1-1"') < panel.index('id="passage-1-3"') < panel.index('id="passage-1-2"')


def test_the_article_view_marks_the_cited_offsets_and_shows_where_it_comes_from():
    text = "Headline\n\nFirst <p>. The cited sentence. Last."
    p = passage(text, "Head <line>")
    p = p.model_copy(update={"outlet": "Valley Gazette", "url": "https://news.example/a"})
    start = text.index("The cited")
    out = render.article_html(p, text, [(start, start + len("The cited sentence."))])
    assert visible_text(out.split('<mark id="article-cited" class="quote">')[1].split("</mark>")[0]) == "The cited sentence."
    assert '<h2 id="article-title">Head &#60;line&#62;</h2>' in out and "Valley Gazette" in out
    assert 'href="https&#58;//news.example/a"' in out and visible_text(out).endswith(text)
    assert "<p>" not in out
    assert "article-cited" not in render.article_html(p, text, [(10, 999)])  # outside the text: no mark
    both = render.article_html(p, text, [(text.index("Last."), len(text)), (0, 8)])  # every quote, first anchored
    assert re.findall(r'<mark( id="article-cited")? class="quote">([^<]*)</mark>', both) == [
        (' id="article-cited"', "Headline"), ("", "Last.")]
    gappy = "Title\n\n\xa0\n\n\n\nBody. Cited.\n \n\nEnd."
    shown = render.article_html(p, gappy, [(gappy.index("Cited."), gappy.index("Cited.") + 6)])
    assert visible_text(shown).endswith("Title\n\nBody. Cited.\n\nEnd.")  # blank runs shown as one
    assert visible_text(shown.split('class="quote">')[1].split("</mark>")[0]) == "Cited."


def test_an_error_is_a_readable_message_not_sources():
    answer = Answer(question="q", error="LLM server http://x: cannot connect. Is it running?")
    assert "Could not answer." in render.answer_html(answer, 1)
    assert "could not be answered" in render.sources_html(answer, 1)


def test_sources_panel_keeps_earlier_answers_folded_latest_first():
    assert "Ask a question" in render.sources_panel([])
    panel = render.sources_panel(["<section>one</section>", "<section>two</section>", "<section>three</section>"])
    assert panel.index("three") < panel.index("Earlier answers (2)") < panel.index("two") < panel.index("one")


def test_markdown_copy_has_the_answer_and_its_numbered_sources():
    p1 = passage("The call lasted 40 minutes.", "Call story", "call.txt")
    answer = Answer(question="How long?", text="The call lasted 40 minutes. [1]", passages=[p1],
                    citations=[cite(1, p1, "The call lasted 40 minutes.")])
    md = render.answer_markdown(answer)
    assert md == ("**Q:** How long?\n\nThe call lasted 40 minutes. [1]\n\nSources:\n"
                  "[1] Call story (undated, call.txt): “The call lasted 40 minutes.”\n")
    abstained = Answer(question="q", text="Not here.", abstained=True, passages=[p1])
    assert "Closest passages:\n[1] Call story" in render.answer_markdown(abstained)


def test_library_rows_are_plain_cells():
    rows = render.library_rows([
        ArticleInfo(doc_id="1", title="<b>T</b>", source="/x/a.txt", file_name="a.txt", chunks=3),
        ArticleInfo(doc_id="2", title="U", source="/x/b.txt", file_name="b.txt", chunks=1, complete=False),
    ])
    assert rows == [["<b>T</b>", "undated", "", "", "a.txt", 3, "indexed"],
                    ["U", "undated", "", "", "b.txt", 1, "incomplete: run the ingest again"]]


def test_sources_show_author_outlet_date_and_a_safe_link():
    from datetime import date

    passage = Passage(chunk_id="c", doc_id="d", text="The bridge reopened.", title="Bridge", source="/x/b.html",
                      file_name="b.html", start=0, end=20, score=0.03, published=date(2025, 6, 2),
                      author="Ann <Lee>", outlet="Valley Gazette", url="https://gazette.example/bridge?a=1&b=2")
    answer = Answer(question="q", text="The bridge reopened. [1]", passages=[passage],
                    citations=[Citation(n=1, chunk_id="c", doc_id="d", title="Bridge", source="/x/b.html",
                                        quote="The bridge reopened.", start=0, end=20, passage_start=0,
                                        passage_end=20)])
    page = render.sources_html(answer, 1)
    assert "by Ann <Lee> · Valley Gazette · 2025-06-02" in html.unescape(page) and "<Lee>" not in page
    href = re.search(r'<a class="source-link" href="([^"]*)" target="_blank" rel="noopener noreferrer">', page)
    assert href and html.unescape(href.group(1)) == "https://gazette.example/bridge?a=1&b=2"
    assert "(by Ann <Lee> · Valley Gazette · 2025-06-02, b.html, https://gazette.example/bridge?a=1&b=2)" in (
        render.answer_markdown(answer))
    hostile = passage.model_copy(update={"url": "javascript:alert(1)"})
    assert "href" not in render.sources_html(answer.model_copy(update={"passages": [hostile]}), 1)


def test_a_story_names_the_outlets_that_also_ran_it_with_safe_links():
    from rag import Report

    also = [Report(doc_id="b", title="Cracked hangers shut bridge", source="/x/b.html", outlet="Valley Herald",
                   url="https://valleyherald.example/bridge?a=1&b=2"),
            Report(doc_id="c", title="Bridge <b>shut</b>", source="/x/c.html", outlet="Metro <img src=x onerror=alert(1)>",
                   url="javascript:alert(1)")]
    p = passage("The bridge is closed.", title="Bridge closed", file_name="a.html").model_copy(
        update={"also_reported_by": also})
    answer = Answer(question="q", text="The bridge is closed. [1]", passages=[p],
                    citations=[cite(1, p, "The bridge is closed.").model_copy(update={"also_reported_by": also})])
    page = render.sources_html(answer, 1)
    assert "Also reported by 2 outlets: Valley Herald, Metro <img src=x onerror=alert(1)>" in visible_text(page)
    assert "<img" not in page and "<b>shut" not in page
    links = re.findall(r'<a class="source-link" href="([^"]*)"', page)
    assert [html.unescape(h) for h in links] == ["https://valleyherald.example/bridge?a=1&b=2"]  # not javascript:
    md = render.answer_markdown(answer)
    assert ("Also reported by 2 outlets: Valley Herald (https://valleyherald.example/bridge?a=1&b=2), "
            "Metro <img src=x onerror=alert(1)> (javascript:alert(1))") in md
    files = [r.model_copy(update={"outlet": None}) for r in also[:1]]
    plain = answer.model_copy(update={"passages": [p.model_copy(update={"also_reported_by": files})]})
    assert "Also in 1 other article: Cracked hangers shut bridge" in visible_text(render.sources_html(plain, 1))
    assert "Also" not in render.sources_html(answer.model_copy(update={"passages": [passage("x")]}), 1)


def test_the_short_answer_is_highlighted_inside_its_quote_and_the_rewrite_is_shown():
    p = passage("The more than four-hour meeting was held in St. Petersburg on Friday.")
    quote = p.text
    answer = Answer(question="How long did it last?", query="How long did it last? (Witkoff meet Putin)",
                    text=f"{quote} [1]", citations=[cite(1, p, quote)], passages=[p],
                    short_answer="more than four-hour")
    out = render.answer_html(answer, 1)
    marked = re.search(r'<mark class="short-answer"[^>]*>(.*?)</mark>', out)
    assert marked and visible_text(marked.group(1)) == "more than four-hour"
    assert "Answering: How long did it last? (Witkoff meet Putin)" in visible_text(out)
    assert visible_text(out).count("more than four-hour") == 1  # highlighted in place, not repeated
    markdown = render.answer_markdown(answer)
    assert "**Short answer:** more than four-hour" in markdown and "_Answering: How long" in markdown
    corrected = answer.model_copy(update={"corrections": [("lnog", "long")], "query": "How long did it last?",
                                          "question": "How lnog did it last?"})
    assert "Searched for: How long did it last?" in visible_text(render.answer_html(corrected, 2))
    plain = answer.model_copy(update={"query": answer.question, "short_answer": None})
    assert "Answering" not in render.answer_html(plain, 3) and "short-answer" not in render.answer_html(plain, 3)


def test_the_short_answer_highlight_takes_whole_words_only():
    p = passage("In 2025 Springfield will buy 25 buses.")
    answer = Answer(question="How many buses?", text=f"{p.text} [1]", citations=[cite(1, p, p.text)],
                    passages=[p], short_answer="25")
    out = render.answer_html(answer, 1)
    marked = re.search(r'<mark class="short-answer"[^>]*>(.*?)</mark>', out)
    assert marked and visible_text(out).startswith("In 2025 Springfield will buy 25 buses.")
    assert visible_text(out[:marked.start()]).endswith("will buy ")  # the 25 of "buy 25", not of 2025


def test_an_upload_is_marked_wherever_it_is_named_and_its_uploader_is_escaped():
    from datetime import datetime, timezone

    when = datetime(2025, 6, 13, 10, 2, 3, tzinfo=timezone.utc)
    fields = dict(origin="upload", uploaded_by="<img src=x onerror=a()>", uploaded_at=when)
    p = passage("The strike ended after 12 days.", title="Strike", file_name="s.txt").model_copy(update=fields)
    c = cite(1, p, "The strike ended after 12 days.").model_copy(update=fields)
    answer = Answer(question="How long?", text="The strike ended after 12 days. [1]", citations=[c], passages=[p])
    note = "uploaded by <img src=x onerror=a()> on 2025-06-13T10:02:03Z"
    bubble, sources, md = render.answer_html(answer, 1), render.sources_html(answer, 1), render.answer_markdown(answer)
    assert 'class="cite upload"' in bubble and note in html.unescape(bubble)
    assert '<span class="upload-tag"' in sources and note in visible_text(sources)
    assert "<img" not in bubble and "<img" not in sources  # shown, never markup
    assert f"[1] Strike ({note} · undated, s.txt)" in md
    corpus = passage("The call lasted 40 minutes.")
    plain = Answer(question="q", text="The call lasted 40 minutes. [1]", passages=[corpus],
                   citations=[cite(1, corpus, "The call lasted 40 minutes.")])
    assert "upload" not in render.sources_html(plain, 1) and 'class="cite"' in render.answer_html(plain, 1)
    row = render.library_rows([ArticleInfo(doc_id="1", title="S", source="/u/s.txt", file_name="s.txt", chunks=1,
                                           **fields)])[0]
    assert row[-1] == f"indexed; {note}"
