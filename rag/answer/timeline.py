"""Timelines: what happened with a topic, one dated and cited sentence per article, oldest first.

"What happened with the ferry?" is not answered by the one best sentence: a
reader wants the story's steps in order. Each dated article among the
retrieved passages gives its sentence that best matches the topic (the
extractive answerer's ranking); sentences saying nearly the same thing
(syndicated copies, follow-up stories repeating the news) are merged into the
earliest one, which keeps the others as ``also``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Sequence

from ..text import jaccard, terms
from ..time import human_date, in_period, without_time
from ..types import Citation, Passage, TimelineEvent, TimeScope
from .base import Draft
from .citations import cite, with_marker
from .extractive import candidates
from .notices import Period, period_words

MIN_SHARE = 0.6  # an article's sentence must score this share of the best to be part of the story
SAME_EVENT = 0.5  # term overlap (Jaccard) at which two articles' sentences tell the same event
_WHAT_HAPPENED = re.compile(
    r"^\s*(?:(?:so\s+|and\s+)?what(?:'s| has| have)?\s+happen(?:ed|ing)\s+(?:with|to|in|at|about|on)\s+|"
    r"(?:give me |show me )?(?:a |the )?timeline\s+(?:of|for)\s+)(?P<topic>.+?)[\s?.!]*$", re.I)


# "What happened this week?", "What's new?", "Any news from yesterday?", "Headlines on Monday": the news of a
# period, no topic; the frame is matched here, and what follows it must be time words only (``news_digest``)
_NEWS = re.compile(
    r"^\s*(?:so\s+|and\s+)?(?:what(?:'s|\s+has|\s+is|\s+was)?\s+(?:happen(?:ed|ing)|new|(?:in\s+)?the\s+news)|"
    r"(?:what\s+(?:are|were)\s+|any\s+|give\s+me\s+|show\s+me\s+)?(?:the\s+)?(?:latest\s+)?"
    r"(?:news|headlines|top\s+stories))(?P<rest>(?:\W.*)?)$", re.I | re.S)
_NEWS_WORDS = "news headlines stories story articles world everything anything else there of from since during over for"
DIGEST_LIMIT = 12  # a period's articles shown at most; the newest ones when there are more


def news_digest(question: str, scopes: list[TimeScope]) -> bool:
    """Whether ``question`` asks for the news of a period rather than about a topic ("What happened this
    week?", "What's new?"; not "What happened with the ferry this week?")."""
    match = _NEWS.match(question)
    if not match:
        return False
    rest = without_time(match.group("rest"), scopes, keep_empty=True)
    return not set(terms(rest)) - set(terms(_NEWS_WORDS))


def lead_events(passages: Sequence[Passage]) -> list[TimelineEvent]:
    """Each article's lead: the first quotable sentence of its first passage (the headline and byline are
    not sentences), one event per dated passage, in the passages' order."""
    leads: dict[int, object] = {}
    for cand in candidates(list(passages)):  # passage order, then source order: the first is the lead
        leads.setdefault(cand.n, cand)
    return [TimelineEvent(day=passages[n - 1].published, citation=cite(n, passages[n - 1], c.start, c.end),
                          text=c.shown) for n, c in sorted(leads.items()) if passages[n - 1].published]


def digest_notes(shown: int, total: int, period: Period, as_of: date) -> list[str]:
    """What a period's news leaves out: nothing from the period, or only the newest ``shown`` of ``total``."""
    span = period_words(period, as_of) if period[0] else f"up to {human_date(min(period[1] or as_of, as_of))}"
    if not total:
        return [f"No article in the index is from {span}."]
    if not shown:
        return [f"None of the {total} articles from {span} has a sentence that can be quoted."]
    if shown < total:
        return [f"The {shown} newest of the {total} articles from {span} are listed; name a topic to narrow them."]
    return []


def timeline_topic(question: str) -> str | None:
    """The topic of a "what happened with X" or "timeline of X" question (its time words included); None for
    any other question."""
    match = _WHAT_HAPPENED.match(question)
    return match.group("topic") if match else None


def events(ranked: Sequence, passages: Sequence[Passage], limit: int = 12) -> list[TimelineEvent]:
    """Dated events from the extractive answerer's ranked candidates (best first) for a topic: each dated
    article's best sentence, if it scores at least MIN_SHARE of the best, merged with others of the same event
    (the earliest leads), ordered by date then place in the article; at most ``limit`` events."""
    eligible = [c for c in ranked if c.eligible and passages[c.n - 1].published is not None]
    if not eligible:
        return []
    floor = MIN_SHARE * eligible[0].score
    per_article: dict[str, object] = {}
    for cand in eligible:  # best first: the first of each article is its best
        if cand.score >= floor and cand.doc_id not in per_article:
            per_article[cand.doc_id] = cand
    ordered = sorted(per_article.values(), key=lambda c: (passages[c.n - 1].published, c.source_start))
    kept: list[tuple[object, TimelineEvent]] = []
    for cand in ordered:
        citation = cite(cand.n, passages[cand.n - 1], cand.start, cand.end)
        same = next((event for lead, event in kept if jaccard(lead.terms, cand.terms) >= SAME_EVENT), None)
        if same is not None:
            same.also.append(citation)
            continue
        kept.append((cand, TimelineEvent(day=passages[cand.n - 1].published, citation=citation,
                                         text=cand.shown)))
    best_first = sorted(kept, key=lambda k: -k[0].score)[:limit]  # the strongest events when there are many
    return sorted((event for _, event in best_first), key=lambda e: (e.day, e.citation.start))


def within(found: list[TimelineEvent], period: tuple[date | None, date | None] | None) -> list[TimelineEvent]:
    """The events inside ``period`` (inclusive bounds, None open); all of them when there is no period."""
    return [e for e in found if in_period(e.day, period)]


def timeline_draft(found: list[TimelineEvent]) -> Draft | None:
    """A "what happened with X" question answered as a timeline; None when no dated article tells it (then it
    is answered as any other question)."""
    if not found:
        return None
    return Draft(timeline_text(found), timeline_citations(found), False, 1.0)


def timeline_text(found: list[TimelineEvent]) -> str:
    """One line per event: "- 9 June 2025: The Lakeport ferry will now cost 18 million dollars. [1]"."""
    return "\n".join(f"- {human_date(e.day)}: {with_marker(e.text, e.citation.n)}" for e in found)


def timeline_citations(found: list[TimelineEvent]) -> list[Citation]:
    """Each event's citation, in the order the timeline text numbers them."""
    return [e.citation for e in found]
