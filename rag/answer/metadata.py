"""Questions about an article rather than its story: who wrote it, when it was published, which outlet ran
it, what its headline is.

No sentence of a story says "this article was written by ...": the answer is
the article's own metadata (the byline, dates and outlet that ingest reads,
``rag.ingest.metadata``). The article is the one the question's topic
retrieved first; the answer states the field and cites that article, quoting
the line that prints it (the byline, the headline) when the passage holds
it, else the passage's opening sentence. An article that does not record
the field gets an abstention saying so, never a value.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from ..types import Passage
from .base import Draft
from .citations import cite, passage_sentences

MetaField = Literal["author", "published", "outlet", "title"]

# "the article", "this story", "that piece": the question names the article, not something in its story
# ("When was it released?" after a question about a film asks about the film)
_ARTICLE = r"(?:the|this|that)\s+(?:article|story|piece|news\s+story)s?\b"
_ASKS: list[tuple[MetaField, re.Pattern[str]]] = [
    ("author", re.compile(rf"\bwho\s+(?:wrote|authored|penned|reported|filed)\s+{_ARTICLE}"
                          rf"|\b(?:author|writer|byline|reporter)s?\s+of\s+{_ARTICLE}"
                          r"|^\W*who\s+is\s+the\s+(?:author|writer)\W*$", re.I)),
    ("published", re.compile(r"\bwhen\s+(?:was|were)\s+(?:it|this|that)\s+(?:published|posted)\b"
                             rf"|\bwhen\s+(?:was|were|did)\s+{_ARTICLE}.*?\b(?:published|posted|written|dated|"
                             r"released|run|come\s+out|appear)\b"
                             rf"|\bwhat\s+(?:date|day)\b.*?{_ARTICLE}|\bpublication\s+date\b"
                             rf"|\bhow\s+old\s+is\s+{_ARTICLE}", re.I)),
    ("title", re.compile(r"\bwhat\b.*?\bheadline\b|\bheadline\s+of\b"
                         rf"|\b(?:title|headline)\s+of\s+{_ARTICLE}|\b{_ARTICLE}.*?\b(?:titled|headlined|called)\b",
                         re.I)),
    ("outlet", re.compile(r"\b(?:which|what)\s+(?:outlet|newspaper|paper|publication|site|website|magazine)\s+"
                          r"(?:published|ran|carried|printed|posted)\b"
                          rf"|\bwhere\s+(?:was|were)\s+{_ARTICLE}.*?\b(?:published|posted|printed)\b", re.I)),
]


def asked_field(question: str) -> MetaField | None:
    """Which article fact the question asks for, if it asks for one: "Who wrote the article about the bridge?"
    -> "author"; "When was it published?" -> "published"; a question about the story -> None."""
    for name, pattern in _ASKS:
        if pattern.search(question):
            return name
    return None


def metadata_answer(field: MetaField, passages: list[Passage]) -> Draft | None:
    """The asked fact of the first passage's article, cited to it; when the article does not record it, an
    abstention that says so (no story sentence states who wrote the article, so none is quoted instead)."""
    if not passages:
        return None
    p = passages[0]
    title = f"\u201c{p.title}\u201d"
    value = {"author": p.author, "published": p.published, "outlet": p.outlet, "title": p.title}[field]
    if not value:
        missing = {"author": "does not name its author", "published": "is not dated",
                   "outlet": "does not name the outlet that published it"}[field]
        return Draft(f"The article {title} {missing}.", [], True, 0.0)
    sentences = passage_sentences(p)
    if not sentences:
        return None
    start, end = next(((s, e) for s, e in sentences if _prints(p.text[s:e], value)), sentences[0])
    citation = cite(1, p, start, end)
    at = citation.quote.find(value) if isinstance(value, str) else -1
    if at >= 0:
        citation = citation.model_copy(update={"answer_span": (at, at + len(value))})
    shown = _day(value) if isinstance(value, date) else value
    text = {
        "author": f"{title} was written by {shown} [1].",
        "published": f"{title} was published on {shown}"
                     + (f" and updated on {_day(p.updated)}" if p.updated and p.updated != p.published else "")
                     + " [1].",
        "outlet": f"{title} was published by {shown} [1].",
        "title": f"The article's headline is {title} [1].",
    }[field]
    short = value.isoformat() if isinstance(value, date) else value
    return Draft(text, [citation], False, 1.0, short)


def _day(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _prints(text: str, value: str | date) -> bool:
    """Whether a line of the article prints the value: the name itself, or a date line with its year."""
    if isinstance(value, str):
        return value in text
    return str(value.year) in text and len(text) < 120
