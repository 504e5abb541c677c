"""The one protocol both answerers implement, so ``RAG.stream`` makes every answer the same way.

As llama-index's ``RetrieverQueryEngine`` reads "retrieve, then synthesize",
``RAG.stream`` reads: correct, condense (follow-ups), retrieve, let the
answerer stream its drafts, build the ``Answer`` once. The answerers differ
only in how they condense (rules, or the model) and write (quotes, or the
model's words checked against the passages), as haystack's
``ExtractedAnswer`` and ``GeneratedAnswer`` share one ``Answer`` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterator, Literal, Protocol, Sequence

from ..types import Citation, DroppedCitation, Passage, UnsupportedSentence

ABSTAIN_TEXT = "The articles do not contain enough evidence to answer this question."


@dataclass(frozen=True)
class Asked:
    """A question as the answerer sees it: as typed (typos corrected), in its standalone form, and the
    conversation before it (OpenAI-style turns, oldest first)."""

    question: str
    query: str
    history: tuple[dict, ...] = ()
    as_of: date | None = None  # the date it is asked as of: later articles were not retrieved
    period: tuple[date | None, date | None] | None = None  # the asked-for period ("this week"), if any
    recent: bool = False  # asks for the current state ("latest", "currently"): newer evidence first

    @property
    def is_follow_up(self) -> bool:
        return self.query != self.question


@dataclass
class Draft:
    """What an answerer wrote, before ``RAG.stream`` makes it an ``Answer``.

    ``confidence``: extractive, the probability that the best sentence answers (``abstention``, 0-1); LLM,
    the share of answer sentences a cited passage supports.
    """

    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    confidence: float = 0.0
    short_answer: str | None = None
    unsupported: list[UnsupportedSentence] = field(default_factory=list)
    dropped: list[DroppedCitation] = field(default_factory=list)
    raw: str = ""
    notices: list[str] = field(default_factory=list)  # e.g. two reports giving two values, with their dates


class Answerer(Protocol):
    """Condense a follow-up into a standalone question, then answer it from numbered passages."""

    mode: Literal["extractive", "llm"]

    def condense(self, question: str, history: Sequence[dict]) -> str:
        """The standalone form of ``question`` after ``history``; ``question`` itself when it needs none."""
        ...

    def stream(self, asked: Asked, passages: Sequence[Passage]) -> Iterator[str | Draft]:
        """Text deltas as they are written, then the ``Draft`` (always last)."""
        ...
