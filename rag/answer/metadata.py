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
from functools import lru_cache
from typing import Literal

from ..types import Passage
from ..text import terms
from ..time import human_date
from .base import ABSTAIN_TEXT, Draft
from .citations import cite, passage_sentences

MetaField = Literal["author", "published", "outlet", "title"]

# "the article", "this story", "that piece": the question names the article, not something in its story
# ("When was it released?" after a question about a film asks about the film; "the piece of music", "the
# story's hero" are the story's)
_ARTICLE = (r"(?:the|this|that)\s+(?:(?!(?:article|story|piece)\b)[\w'’-]+\s+){0,3}?(?:article|story|piece)s?\b"
            r"(?!['’]s)(?!\s+of\b)")  # "the wolves story" too
_OWNER = r"(?:the|this|that)\s+(?:article|story|piece)['’]s"  # "the article's author"
_OUTLET = r"(?:outlet|newspaper|paper|publication|site|website|magazine|news\s+site)"
_ASKS: list[tuple[MetaField, re.Pattern[str]]] = [
    ("author", re.compile(rf"\bwho\s+(?:wrote|authored|penned|reported|filed)\s+{_ARTICLE}"
                          rf"|\b(?:author|writer|byline|reporter)s?\s+of\s+{_ARTICLE}|\b{_OWNER}\s+(?:author|writer)"
                          r"|^\W*who(?:['’]s|\s+is)\s+the\s+(?:author|writer)\W*$|^\W*who\s+wrote\s+(?:this|it)\W*$",
                          re.I)),
    ("published", re.compile(r"^\W*when\s+(?:was|were)\s+(?:it|this|that)\s+(?:published|posted)\W*$"
                             rf"|\bwhen\s+(?:was|were|did)\s+{_ARTICLE}[^?]*?\b(?:published|posted|written|dated|"
                             r"released|run|come\s+out|appear)\b"
                             rf"|\bwhat\s+(?:date|day)\s+(?:is|was)\s+{_ARTICLE}(?![^?]*\b(?:say|says|said)\b)"
                             rf"|\b(?:the\s+)?(?:publication\s+)?date\s+of\s+{_ARTICLE}"
                             rf"|\bhow\s+old\s+is\s+{_ARTICLE}", re.I)),
    ("title", re.compile(rf"\bheadline\s+(?:ran\s+|was\s+)?(?:on|of|for)\s+{_ARTICLE}"
                         r"|^\W*what(?:['’]s|\s+is|\s+was)\s+(?:the|its)\s+headline\W*$"
                         rf"|\b(?:title|headline)\s+of\s+{_ARTICLE}|\b{_ARTICLE}[^?]*?\b(?:titled|headlined)\b",
                         re.I)),
    ("outlet", re.compile(rf"\b(?:which|what)\s+{_OUTLET}\s+(?:published|ran|carried|printed|posted)\s+{_ARTICLE}"
                          rf"|\b(?:which|what)\s+{_OUTLET}\s+is\s+(?:it|this|that|{_ARTICLE})\s+from\b"
                          rf"|\bwhere\s+(?:was|were)\s+{_ARTICLE}[^?]*?\b(?:published|posted|printed)\b", re.I)),
]
# the words that ask for the field, not about the topic: what is left must match the article
_ASKING = set("""article articles story stories piece pieces news headline title titled headlined author authors
writer byline reporter wrote written write authored penned reported filed published publish posted printed
dated date day released run ran carried outlet newspaper paper publication site website magazine old come
appear what which who whom whose when where why how about on over regarding concerning from called
named""".split())


def asked_field(question: str) -> MetaField | None:
    """Which article fact the question asks for, if it asks for one: "Who wrote the article about the bridge?"
    -> "author"; "When was it published?" -> "published"; a question about the story -> None."""
    for name, pattern in _ASKS:
        if pattern.search(question):
            return name
    return None


def metadata_answer(field: MetaField, topic: str, passages: list[Passage], named: bool = False) -> Draft | None:
    """The asked fact of the first passage's article, cited to it; when the article does not record it, an
    abstention that says so (no story sentence states who wrote the article, so none is quoted instead).

    ``topic``: the standalone question (a follow-up's carries the conversation's words); at least half of
    its words that do not ask for the field must be in the article's passage or title, or no article is
    about it and the answer is an abstention. ``named``: the user already chose the one article (a sources
    filter), so "Who wrote this article?" needs no topic."""
    if not passages:
        return None
    p = passages[0]
    asked = topic_terms(topic)
    if not named and not asked:
        return Draft("Which article? Name its topic, as in \u201cWho wrote the article about the dam repairs?\u201d",
                     [], True, 0.0)
    if not named and not _about(asked, p):
        return Draft(ABSTAIN_TEXT, [], True, 0.0)  # no article is about what was asked: none is named
    title = f"\u201c{p.title}\u201d"
    # a title ingest had to make up (the first line cut with "…", or the file's name) is no headline
    guessed = p.title.endswith("\u2026") or p.title in (p.file_name, p.file_name.rsplit(".", 1)[0])
    value = {"author": p.author, "published": p.published, "outlet": p.outlet,
             "title": None if guessed else p.title}[field]
    if not value:
        missing = {"author": "does not name its author", "published": "is not dated",
                   "outlet": "does not name the outlet that published it",
                   "title": "prints no headline of its own (its first line is shown as its title)"}[field]
        return Draft(f"The article {title} {missing}.", [], True, 0.0)
    sentences = passage_sentences(p)
    if not sentences:
        return None
    start, end = next(((s, e) for s, e in sentences if _prints(p.text[s:e], value)),
                      next(((s, e) for s, e in sentences if p.text[s:e].strip() == p.title), sentences[0]))
    citation = cite(1, p, start, end)
    at = citation.quote.find(value) if isinstance(value, str) else -1
    if at >= 0:
        citation = citation.model_copy(update={"answer_span": (at, at + len(value))})
    shown = human_date(value) if isinstance(value, date) else value
    text = {
        "author": f"{title} was written by {shown} [1].",
        "published": f"{title} was published on {shown}"
                     + (f" and updated on {human_date(p.updated)}" if p.updated and p.updated != p.published else "")
                     + " [1].",
        "outlet": f"{title} was published by {shown} [1].",
        "title": f"The article's headline is {title} [1].",
    }[field]
    return Draft(text, [citation], False, 1.0, shown)  # as the answer writes it, so the page can mark it


def topic_terms(question: str) -> set[str]:
    """The question's words that are not about asking for the field: what the article must be about
    ("Who wrote the article about the dam repairs?" -> {dam, repair}; "Who wrote the article?" -> none)."""
    return set(terms(_DATE_LINE.sub(" ", question))) - _asking_terms()


@lru_cache(maxsize=1)
def _asking_terms() -> frozenset[str]:
    return frozenset(terms(" ".join(_ASKING)))


def _about(asked: set[str], passage: Passage) -> bool:
    """At least half of the topic's words (``topic_terms``, not empty) in the article's passage or title, and
    all of a one- or two-word topic ("the Mars landing" is not about a byline's "Mar 3")."""
    held = set(terms(_DATE_LINE.sub(" ", f"{passage.title}\n{passage.text}")))  # a byline's "Mar 3" is no topic
    found = len(asked & held)
    return found == len(asked) if len(asked) <= 2 else 2 * found >= len(asked)


_DATE_LINE = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b"
                        r"|\b\d{1,2}\.?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b"
                        r"|\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b", re.I)


def _prints(text: str, value: str | date) -> bool:
    """Whether a line of the article prints the value: the name itself, or a short line with that very date
    written out (its day, month and year: a byline or dateline, not "the council votes on Oct. 2")."""
    if isinstance(value, str):
        return value in text
    if len(text) >= 120 or str(value.year) not in text or not re.search(rf"(?<!\d)0?{value.day}(?!\d)", text):
        return False
    month = f"{value:%B}"
    return bool(re.search(rf"\b{month[:3]}|(?<!\d)0?{value.month}[./-]|[./-]0?{value.month}(?!\d)", text, re.I))
