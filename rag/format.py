"""An ``Answer`` as plain text that ends with its numbered sources: the one formatter the page's copyable
answer, ``rag serve`` (the OpenAI-compatible reply any chat client shows) and ``rag mcp`` share.

Plain text with light Markdown (``_italic_`` context lines, ``**Short answer:**``), so a client that renders
Markdown shows it well and one that does not still reads it. Nothing is escaped: the page escapes what it
renders itself.
"""

from __future__ import annotations

from datetime import date

from .time import human_date
from .types import Answer, Passage, Report, reported_by
from .web.pages import source_name

SOURCES = "Sources:"
CLOSEST = "Closest passages:"
CLOSEST_SHOWN = 3  # an abstention lists this many of the nearest passages, for the reader to judge


def with_sources(answer: Answer) -> str:
    """The answer's text (``[n]`` markers kept), then ``tail``: ``"The call lasted ... [1]\n\nSources:\n
    [1] Title (by Ann Lee · Outlet · 2025-06-02, storm.txt, https://...): “quote”\n"``. An answer that failed
    is ``"Error: ..."``."""
    if answer.error:
        return f"Error: {answer.error}\n"
    return answer.text.rstrip() + tail(answer)


def tail(answer: Answer) -> str:
    """What follows the answer text, each part after a blank line: the short answer, notes on the evidence,
    what was answered (a follow-up restated, the date answered as of, filters), and the numbered sources
    with their quotes (an abstention: the closest passages). After the text, so a reply streamed word by
    word ends exactly as the whole reply does."""
    blocks: list[str] = []
    if answer.short_answer and not answer.abstained:
        blocks.append(f"**Short answer:** {answer.short_answer}")
    blocks += [f"Note: {notice}" for notice in answer.notices]
    blocks += [f"_{said}_" for said in (answer.restated(), when(answer), filtered(answer)) if said]
    if answer.abstained and answer.passages:
        blocks.append("\n".join([CLOSEST, *(
            f"[{n}] {p.title} ({provenance(p)}, {file_and_url(p)})"
            + (f". {also_text(p.also_reported_by)}" if p.also_reported_by else "")
            for n, p in list(enumerate(answer.passages, 1))[:CLOSEST_SHOWN])]))
    elif answer.citations:
        lines = [SOURCES]
        for n in sorted({c.n for c in answer.citations}):
            p = answer.passages[n - 1]
            quotes = " … ".join(f"“{c.quote}”" for c in answer.citations if c.n == n)
            lines.append(f"[{n}] {p.title} ({provenance(p)}, {file_and_url(p)}): {quotes}"
                         + (f" {also_text(p.also_reported_by)}." if p.also_reported_by else ""))
        blocks.append("\n".join(lines))
    return "".join(f"\n\n{block}" for block in blocks) + "\n"


CHECKED = "Checked against the passages: "  # a streamed reply whose words checking changed (rag.server.completions)


def without_sources(text: str) -> str:
    """An earlier reply of ``with_sources`` back to its answer text: chat clients send the whole reply back as
    history, and its source list would otherwise read as part of what was said. Only a tail that reads as
    one is cut, from the end: the source list, then the short answer, notes and italic context lines just
    before it; of a streamed reply that checking changed, the checked text is kept."""
    blocks = text.strip().split("\n\n")
    if blocks and blocks[-1].startswith((f"{SOURCES}\n", f"{CLOSEST}\n")):
        blocks.pop()
        while len(blocks) > 1 and _tail_block(blocks[-1]):
            blocks.pop()
    checked = next((i for i, b in enumerate(blocks) if b.startswith(CHECKED)), None)
    if checked is not None:
        blocks = [blocks[checked].removeprefix(CHECKED), *blocks[checked + 1:]]
    return "\n\n".join(blocks).strip()


def _tail_block(block: str) -> bool:
    one_line = "\n" not in block
    return one_line and (block.startswith(("**Short answer:** ", "Note: "))
                         or (block.startswith("_") and block.endswith("_") and len(block) > 2))


def when(answer: Answer) -> str | None:
    """'As of 16 June 2022 · "this week" -> 2022-06-09..2022-06-16': the date answered as of and the question's
    time words as resolved; None for a question without time words answered as of today (nothing to say)."""
    if answer.as_of is None or (not answer.time_scopes and answer.as_of == date.today()):
        return None
    return " · ".join([f"As of {human_date(answer.as_of)}", *(s.describe() for s in answer.time_scopes)])


def filtered(answer: Answer) -> str | None:
    """'Filtered: only 2 chosen articles · published 2025-01-01 to 2025-06-30': the filters the answer was
    made under; None without any."""
    f = answer.filters
    if f is None or f.is_empty():
        return None
    parts = [f"only {len(f.sources)} chosen article{'s' if len(f.sources) != 1 else ''}"] if f.sources else []
    if f.date_from or f.date_to:
        parts.append(f"published {f.date_from or 'any time'} to {f.date_to or 'now'} (undated articles left out)")
    return "Filtered: " + " · ".join(parts)


def provenance(passage: Passage) -> str:
    """Who wrote it, where and when: "by Ann Lee · Valley Gazette · 2025-06-02" (or "undated"); an upload
    says so first: "uploaded by alice on 2025-06-13T10:02:03Z · undated"."""
    note = passage.upload_note()
    return " · ".join([note, *told(passage)] if note else told(passage))


def told(passage: Passage) -> list[str]:
    """``provenance`` without the upload note, as parts."""
    return passage.provenance() if passage.published else [*passage.provenance(), "undated"]


def file_and_url(passage: Passage) -> str:
    """"storm.txt, https://..."; for a page fetched from the web, its URL alone."""
    name = source_name(passage.file_name, passage.url)
    return name if name == passage.url or not passage.url else f"{name}, {passage.url}"


def also_text(reports: list[Report]) -> str:
    """"Also reported by 2 outlets: Outlet A (https://...), Outlet B": the story's other articles, each with
    its URL (plain text shows links as they are)."""
    return f"{reported_by(reports)}: " + ", ".join(r.name() + (f" ({r.url})" if r.url else "") for r in reports)
