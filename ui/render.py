"""Answers and passages as HTML and Markdown: pure functions, every outside string escaped.

Article text and file names come from files nobody here wrote, so each one
goes through ``escape``: HTML is neutralised, and so is Markdown (the chatbot
renders Markdown), so ``<script>``, ``<img onerror=...>`` or ``[x](javascript:...)``
show as the characters they are and run nothing.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from urllib.parse import urlencode, urlsplit

from rag import (
    Answer,
    ArticleInfo,
    Citation,
    Passage,
    Timeline,
    human_date,
    parse_markers,
    reported_by,
    source_name,
)
from rag.answer.verify import UNCHECKED
from rag.format import filtered, told, when, with_sources
from rag.format import provenance as _provenance
from rag.text import matched_words

_MARKER = re.compile(r"\[(\d+(?:\s*[-–,]\s*\d+)*)\]")
# HTML specials and every character Markdown or LaTeX could read as syntax, as numeric entities.
_ESCAPES = {ord(c): f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-!|~$:=%"}
_NOT_SUPPORTED = "Not supported by the passages"
_NOT_CHECKED = "Not checked: written in another language than its passage, with no number or name to compare"


def escape(text: str) -> str:
    """``text`` safe to drop into HTML or Markdown: it shows verbatim and is never markup.

    Composed (NFC): a title saved decomposed ("c" + cedilla) would otherwise draw the mark from a fallback font.
    """
    return unicodedata.normalize("NFC", str(text)).translate(_ESCAPES)


def passage_id(turn: int, n: int) -> str:
    """Element id of passage ``n`` of answer ``turn``; citation badges link to it."""
    return f"passage-{turn}-{n}"


def badge(turn: int, n: int, target: Passage | Citation) -> str:
    """A citation's ``[n]`` link to passage ``n`` of answer ``turn``.

    The chat's sanitizer keeps only ``href``, ``class`` and ``title``, so the link itself carries the article
    and the offsets of what it points at (the cited sentence, else the passage), after the passage's id:
    ``#passage-3-1?doc=ID&start=739&end=869``; the page opens the article there when the passage is no longer
    on the page. A hidden span names it for screen readers ("source 1: Title"). A citation of an upload
    looks different and its tooltip says who uploaded it."""
    note = target.upload_note()
    label = f"Source {n}: {target.title}" + (f" ({note})" if note else "")
    kind = "cite upload" if note else "cite"
    where = urlencode({"doc": target.doc_id, "start": target.start, "end": target.end})
    return (f'<a class="{kind}" href="#{passage_id(turn, n)}?{escape(where)}" title="{escape(label)}">[{n}]'
            f'<span class="visually-hidden"> {escape(label)}</span></a>')


def badge_targets(answer: Answer) -> dict[int, Passage | Citation]:
    """What each valid ``[n]`` of ``answer`` points at: its first citation (the cited sentence), else its
    passage. An answer whose passages were dropped (``ui.conversations``) keeps its citations' badges."""
    targets: dict[int, Passage | Citation] = {n: p for n, p in enumerate(answer.passages, 1)}
    for citation in reversed(answer.citations):
        if citation.n in targets or not answer.passages:
            targets[citation.n] = citation
    return targets


def upload_tag(item: Passage | ArticleInfo) -> str:
    """The badge beside an uploaded source, "uploaded by alice on 2025-06-13T10:02:03Z" (escaped: the user name
    is whatever the login gave); nothing for the corpus."""
    note = item.upload_note()
    return (f' <span class="upload-tag" title="A file uploaded through this page, not an article of the '
            f'collection">{escape(note)}</span>' if note else "")


def _with_badges(text: str, turn: int, targets: dict[int, Passage | Citation]) -> str:
    """Escape ``text``; each valid ``[n]`` becomes a badge linking to passage n."""
    out, pos = [], 0
    for m in _MARKER.finditer(text):
        out.append(escape(text[pos:m.start()]))
        numbers = parse_markers(m.group(0))
        if numbers and all(n in targets for n in numbers):
            out.append("".join(badge(turn, n, targets[n]) for n in numbers))
        else:
            out.append(escape(m.group(0)))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def _unsupported_ranges(text: str, sentences: list[str]) -> list[tuple[int, int]]:
    ranges = []
    for sentence in sentences:
        start = text.find(sentence)
        if sentence and start >= 0:
            ranges.append((start, start + len(sentence)))
    return ranges


def answer_html(answer: Answer, turn: int) -> str:
    """The chat bubble: answer text with clickable badges, unsupported sentences marked."""
    if answer.error:
        return error_html(answer.error)
    text = answer.text
    if answer.abstained:  # what was answered shows here too: a follow-up read wrongly is seen
        restated = f'<div class="rag-meta restated">{escape(answer.restated())}</div>' if answer.restated() else ""
        return (
            restated + when_html(answer) + f'<div class="rag-abstain"><b>Not in the articles.</b> {escape(text)} '
            + ('The closest passages are under Sources for you to read.' if answer.passages else
               'No passage matched the question under these settings.')
            + '</div>'
            + "".join(f'<div class="rag-meta rag-notice">{escape(n)}</div>' for n in answer.notices)
        )
    ranges = _unsupported_ranges(text, [u.sentence for u in answer.unsupported])
    unchecked = _unsupported_ranges(text, [u.sentence for u in answer.unsupported if u.reason.startswith(UNCHECKED)])
    short = _short_answer_range(answer)
    targets = badge_targets(answer)
    cuts = sorted({0, len(text), *(a for a, _ in ranges), *(b for _, b in ranges), *(short or ())})
    out = [f'<div class="rag-meta restated">{escape(answer.restated())}</div>'] if answer.restated() else []
    out.append(when_html(answer))
    for a, b in zip(cuts, cuts[1:]):
        piece = _with_badges(text[a:b], turn, targets)
        if short and short[0] <= a and b <= short[1]:
            piece = f'<mark class="short-answer" title="The short answer">{piece}</mark>'
        if any(s <= a and b <= e for s, e in unchecked):
            piece = f'<span class="unsupported" title="{_NOT_CHECKED}">? {piece}</span>'
        elif any(s <= a and b <= e for s, e in ranges):
            piece = f'<span class="unsupported" title="{_NOT_SUPPORTED}">⚠ {piece}</span>'
        out.append(piece)
    footer = "".join(f'<div class="rag-meta rag-notice">Note: {_with_badges(notice, turn, targets)}</div>'
                     for notice in answer.notices)
    if answer.mode == "llm" and answer.model:
        footer += f'<div class="rag-meta">LLM answer by {escape(answer.model)}; citations checked against the passages.</div>'
    return "".join(out).replace("\n", "<br>") + footer  # a timeline's lines stay lines


def when_html(answer: Answer) -> str:
    """The lines above an answer: the date it is answered as of (with its time words), the active filters."""
    lines = [said for said in (when(answer), filtered(answer)) if said]
    return "".join(f'<div class="rag-meta as-of">{escape(line)}</div>' for line in lines)


def _short_answer_range(answer: Answer) -> tuple[int, int] | None:
    """Where the short answer sits in the answer text: inside its quoted sentence, the first one."""
    if not answer.short_answer or not answer.citations:
        return None
    first = answer.text.split(f"[{answer.citations[0].n}]", 1)[0]
    found = re.search(rf"(?<!\w){re.escape(answer.short_answer)}(?!\w)", first)  # "25", not 2025's
    return found.span() if found else None


def timeline_html(found: Timeline) -> str:
    """The Timeline tab: one row per event, oldest first: its date, the cited sentence (the quote marked in its
    passage below a toggle), the article's title, outlet and link, and how many others told the same event."""
    if not found.events:
        why = (f" {found.undated} matching articles have no published date, so they cannot be placed."
               if found.undated else " Try other words, or a wider date range.")
        notes = "".join(f'<div class="rag-meta rag-notice">{escape(n)}</div>' for n in found.notes)
        return f'<div class="rag-abstain"><b>No dated article tells this story.</b>{escape(why)}</div>{notes}'
    rows = []
    for event in found.events:
        p, c = found.passages[event.citation.n - 1], event.citation
        also = (f'<div class="rag-meta">Also reported by {len(event.also)} more: '
                + "; ".join(escape(found.passages[a.n - 1].title) for a in event.also) + "</div>") if event.also else ""
        rows.append(
            f'<li class="rag-event"><time datetime="{event.day.isoformat()}">{escape(human_date(event.day))}</time> '
            f'<span class="event-text">{escape(event.text)}</span>'
            f'<div class="rag-meta">{escape(p.title)} · {escape(_provenance(p))}{_link(p)}</div>{also}'
            f'<details><summary>Passage</summary><div class="rag-passage">'
            f'{_marked(p.text, [(c.passage_start, c.passage_end)])}</div></details></li>')
    bounds = [f"from {human_date(found.since)}" if found.since else "", f"to {human_date(found.until)}" if found.until else ""]
    head = " ".join(b for b in bounds if b) or f"up to {human_date(found.as_of)}"
    return (f'<div class="rag-timeline"><div class="rag-meta">{len(found.events)} events about “{escape(found.topic)}”, '
            f'{escape(head)}, oldest first; each dated when its article was published.</div><ol class="rag-events">{"".join(rows)}</ol></div>')


def error_html(message: str) -> str:
    return notice_html("Could not answer.", message)


def notice_html(headline: str, message: str) -> str:
    """A failure said in the page: a bold headline, then what happened and what to do (escaped)."""
    return f'<div class="rag-error"><b>{escape(headline)}</b> {escape(message)}</div>'


def _marked(text: str, ranges: list[tuple[int, int]], show=escape, anchor: str = "") -> str:
    """``text`` through ``show`` (escaping), each of ``ranges`` wrapped in ``<mark>``, the first with the id
    ``anchor``; a range reaching outside the text is left out, one overlapping an earlier one keeps its rest."""
    out, pos = [], 0
    for start, end in sorted(ranges):
        start = max(start, pos)
        if end <= start or end > len(text):
            continue
        mark_id = f' id="{anchor}"' if anchor else ""
        out += [show(text[pos:start]), f'<mark{mark_id} class="quote">{show(text[start:end])}</mark>']
        pos, anchor = end, ""
    out.append(show(text[pos:]))
    return "".join(out)


def _date(value: date | None) -> str:
    return value.isoformat() if value else "undated"


def _told(passage: Passage) -> str:
    """The provenance without the upload note, for where ``upload_tag`` shows it."""
    return " · ".join(told(passage))


def _source(passage: Passage) -> str:
    """The file and a link to the article on the web; for a page fetched from the web, only the link (the
    name of its stored file says nothing)."""
    if source_name(passage.file_name, passage.url) != passage.file_name:
        return _link(passage).removeprefix(" · ")
    return escape(passage.file_name) + _link(passage)


def _link(passage: Passage) -> str:
    """A link to the article on the web (its canonical URL, http(s) only, checked at ingest), or nothing:
    named by its host (the outlet's name is already in the line), or for a page fetched from the web by its
    whole URL, which is the only name it has."""
    if not passage.url or not passage.url.lower().startswith(("http://", "https://")):
        return ""
    fetched = source_name(passage.file_name, passage.url) != passage.file_name
    shown = passage.url if fetched else (urlsplit(passage.url).hostname or "web").removeprefix("www.")
    return (f' · <a class="source-link" href="{escape(passage.url)}" target="_blank" rel="noopener noreferrer">'
            f'{escape(shown)} ↗</a>')


def _web(url: str | None) -> bool:
    return bool(url) and url.lower().startswith(("http://", "https://"))


def also_html(passage: Passage) -> str:
    """"Also reported by 2 outlets: Outlet A, Outlet B" under a source whose story other articles ran too
    (syndicated copies, left out of the passages), each name a link to its article when its URL is http(s);
    nothing for an article no other one copies."""
    reports = passage.also_reported_by
    if not reports:
        return ""
    names = ", ".join(
        f'<a class="source-link" href="{escape(r.url)}" target="_blank" rel="noopener noreferrer"'
        f' title="{escape(r.title)}">{escape(r.name())}</a>' if _web(r.url) else
        f'<span title="{escape(r.title)}">{escape(r.name())}</span>' for r in reports)
    return f'<span class="also-reported">{escape(reported_by(reports))}: {names}</span>'


def sources_html(answer: Answer, turn: int, dropped: bool = False) -> str:
    """The sources of one answer, one entry per article with its passages inside (so the same article does
    not fill the list), in the order retrieval ranked them; cited articles open with the quote highlighted.

    Each passage says what a reader can judge it by (the article's outlet and date, the words it shares
    with the question, or that it was found by meaning); the retrieval scores sit behind a closed "Scores"
    toggle. ``dropped``: the passages were left out of the saved conversation (``ui.conversations``).
    """
    parts = [f'<section class="rag-turn" data-turn="{turn}" aria-label="Sources for answer {turn}">',
             f'<h3 class="rag-question">Sources for: “{escape(answer.question)}”</h3>']
    if answer.error:
        parts.append('<p class="rag-note">No sources: the question could not be answered.</p></section>')
        return "".join(parts)
    if dropped:
        parts.append('<p class="rag-note dropped">The passages of this older answer were not kept, to keep the '
                     'saved conversation small. Its badges still work: each opens the cited sentence in its '
                     'article.</p></section>')
        return "".join(parts)
    if answer.abstained:
        parts.append('<p class="rag-abstain">Not in the articles: no passage states an answer. '
                     + ('The closest passages are below.</p>' if answer.passages else
                        'No passage matched the question under these settings (filters, date).</p>'))
    if answer.unsupported:
        items = "".join(f"<li>{'?' if u.reason.startswith(UNCHECKED) else '⚠'} {escape(u.sentence)} "
                        f"<small>({escape(u.reason)})</small></li>"
                        for u in answer.unsupported)
        parts.append(f'<div class="unsupported-list"><b>{_NOT_SUPPORTED}:</b><ul>{items}</ul></div>')
    cited = {c.n for c in answer.citations}
    query = answer.query or answer.question
    for numbers in _by_article(answer.passages):
        first = answer.passages[numbers[0] - 1]
        is_cited = bool(cited.intersection(numbers))
        is_open = " open" if is_cited or (answer.abstained and numbers[0] == 1) else ""
        tag = ' <span class="cited-tag">cited</span>' if is_cited else ""
        shown = "".join(f'<span class="num">[{n}]</span>' for n in numbers)
        parts.append(
            f'<details class="article{" cited" if is_cited else ""}"{is_open}>'
            f'<summary>{shown} <b>{escape(first.title)}</b>{tag}{upload_tag(first)}'
            f'<span class="meta"> · {escape(_told(first))} · {_source(first)}</span>{also_html(first)}</summary>')
        for n in numbers:
            parts.append(_passage_html(answer, turn, n, n in cited, query))
        parts.append('</details>')
    parts.append("</section>")
    return "".join(parts)


def _by_article(passages: list[Passage]) -> list[list[int]]:
    """Passage numbers grouped by article, articles in the order of their best passage."""
    groups: dict[str, list[int]] = {}
    for n, passage in enumerate(passages, 1):
        groups.setdefault(passage.doc_id, []).append(n)
    return list(groups.values())


def _passage_html(answer: Answer, turn: int, n: int, is_cited: bool, query: str) -> str:
    """One passage inside its article's entry: why it was retrieved, its text with the quotes marked, a button
    opening the whole article there (its quotes marked, else the passage), and the scores behind a toggle."""
    passage = answer.passages[n - 1]
    quotes = [c for c in answer.citations if c.n == n]
    ranges = ",".join(f"{c.start}-{c.end}" for c in quotes) or f"{passage.start}-{passage.end}"
    dense = (f"; dense similarity {passage.dense_score:.2f} (cosine, question to passage)"
             if passage.dense_score is not None else "")
    return (
        f'<div class="passage{" cited" if is_cited else ""}" id="{passage_id(turn, n)}" tabindex="-1" '
        f'role="group" aria-label="Passage {n}">'
        f'<div class="why"><span class="num">[{n}]</span> {escape(why_retrieved(query, passage))}</div>'
        f'<div class="passage-text">{_marked(passage.text, [(c.passage_start, c.passage_end) for c in quotes])}</div>'
        f'<div class="passage-actions"><button type="button" class="read-article" data-doc="{escape(passage.doc_id)}"'
        f' data-ranges="{ranges}"'
        f' aria-label="Read the whole article “{escape(passage.title)}” at passage {n}">Read the whole article</button>'
        f'<details class="scores"><summary>Scores</summary><span class="rag-meta">Fused rank score '
        f'{passage.score:.4f} (reciprocal-rank fusion of word and meaning search){dense}</span></details></div>'
        f'</div>')


def why_retrieved(query: str, passage: Passage) -> str:
    """Why a passage is among the sources, in a reader's words: the words it shares with the question (as
    the word search matched them), or that only the meaning search found it."""
    shared = matched_words(query, f"{passage.title}\n{passage.text}")
    if not shared:
        return "Found by meaning: it shares no word with the question."
    return "Shares with the question: " + ", ".join(f"“{w}”" for w in shared)


def sources_panel(sections: list[str]) -> str:
    """The latest answer's sources first; earlier ones folded away (their badges still open them)."""
    if not sections:
        return '<div class="rag-sources"><p class="rag-note">Ask a question: the passages behind the answer appear here.</p></div>'
    latest, earlier = sections[-1], sections[-2::-1]
    folded = (f'<details class="earlier"><summary>Earlier answers ({len(earlier)})</summary>{"".join(earlier)}</details>'
              if earlier else "")
    return f'<div class="rag-sources">{latest}{folded}</div>'


def article_html(passage: Passage, text: str, ranges: list[tuple[int, int]]) -> str:
    """The whole cleaned article ``text`` (``RAG.source_text``) under its title, date, outlet, author and link
    (from ``passage``, any of its passages), with each of ``ranges`` (source offsets: a passage's cited
    sentences, or the passage itself) marked (``_marked``), the first as ``#article-cited`` for the page to
    scroll to. Runs of blank lines show as one (the offsets are applied first, so the marks are still exact)."""
    meta = " · ".join(told(passage))
    return (f'<header class="article-head"><h2 id="article-title">{escape(passage.title)}</h2>'
            f'<div class="rag-meta">{escape(meta)} · {_source(passage)}</div></header>'
            f'<div class="article-text">{_marked(text, ranges, _shown, "article-cited")}</div>')


_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n)+")  # lines of nothing but spaces (no-break ones too)


def _shown(text: str) -> str:
    """Escaped article text with each run of blank lines as one empty line (the next line keeps its indent)."""
    return escape(_BLANK_LINES.sub("\n\n", text))


def answer_markdown(answer: Answer) -> str:
    """The answer with its numbered sources, ready to paste into a document (``rag.format``, as the API
    serves it), under the question."""
    return f"**Q:** {answer.question}\n\n" + with_sources(answer)


LIBRARY_HEADERS = ["Title", "Date", "Author", "Outlet", "File", "Chunks", "Status"]


def library_rows(articles: list[ArticleInfo]) -> list[list[str | int]]:
    """Rows of the Library table (plain text cells: the table does not render markup)."""
    return [
        [a.title, _date(a.published), a.author or "", a.outlet or "", source_name(a.file_name, a.url), a.chunks,
         ("indexed" if a.complete else "incomplete: run the ingest again")
         + (f"; {a.upload_note()}" if a.upload_note() else "")]
        for a in articles
    ]
