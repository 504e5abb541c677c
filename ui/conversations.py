"""Conversations kept in the reader's browser: what is saved, how big it may grow, how it is read back.

The page keeps no conversation on the server beyond a session's memory (``gr.State``): each one is saved in
the browser's localStorage under its own key (``app._STORE``), so a reload or a second tab finds it, and two
tabs writing different conversations never overwrite each other. What comes back from the browser is
untrusted: it is read with pydantic, bounded in size, and rendered only through ``render``'s escaping.

Saved answers are the ``Answer`` models themselves, without what only the server uses (raw LLM text, timings,
chunk spans). A conversation over ``BUDGET_CHARS`` of JSON drops the passages of its oldest answers first
(``Turn.dropped``): their text and citations stay, their badges open each cited sentence in its article.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone

from pydantic import BaseModel, Field, ValidationError

from rag import Answer

log = logging.getLogger(__name__)

BUDGET_CHARS = 400_000  # one conversation's JSON; the guard takes request bodies up to RAG_MAX_REQUEST_KB (1 MB)
MAX_LISTED = 50  # conversations offered in the list, newest first
TITLE_CHARS = 80
_LEAN = {"raw_text": True, "timings": True, "passages": {"__all__": {"spans"}}}


class Turn(BaseModel):
    """One question and its answer. ``dropped``: the passages were left out to keep the conversation small."""

    answer: Answer
    dropped: bool = False


class Conversation(BaseModel):
    """A conversation as saved in the browser; ``id`` names its localStorage key."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, pattern=r"^[0-9a-f]{32}$")
    started: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    updated: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    turns: list[Turn] = Field(default_factory=list)

    @property
    def title(self) -> str:
        """The first question, shortened; what the list of conversations shows."""
        first = " ".join(self.turns[0].answer.question.split()) if self.turns else "New conversation"
        return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1].rstrip() + "…"

    def history(self) -> list[dict]:
        """The (user, assistant) messages a follow-up is condensed against: the standalone question asked
        and the answer's text; failed answers are left out."""
        out: list[dict] = []
        for turn in self.turns:
            a = turn.answer
            if not a.error:
                out += [{"role": "user", "content": a.query or a.question}, {"role": "assistant", "content": a.text}]
        return out

    def with_answer(self, answer: Answer) -> "Conversation":
        """A copy with ``answer`` added, trimmed to ``BUDGET_CHARS``."""
        lean = Answer.model_validate(answer.model_dump(exclude=_LEAN))
        grown = self.model_copy(update={"turns": [*self.turns, Turn(answer=lean)],
                                        "updated": datetime.now(timezone.utc)})
        return grown.trimmed()

    def trimmed(self, budget: int = BUDGET_CHARS) -> "Conversation":
        """Drop the passages of the oldest answers (never the newest) until the JSON fits ``budget``."""
        turns = list(self.turns)
        size = len(self.to_json())
        for i, turn in enumerate(turns[:-1]):
            if size <= budget:
                break
            if turn.dropped:
                continue
            before = len(turn.model_dump_json())
            turns[i] = Turn(answer=turn.answer.model_copy(update={"passages": []}), dropped=True)
            size -= before - len(turns[i].model_dump_json())
        return self.model_copy(update={"turns": turns})

    def to_json(self) -> str:
        return self.model_dump_json()


class Listed(BaseModel):
    """One line of the list of conversations, as the browser reports it from its storage."""

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    title: str = Field("", max_length=400)
    updated: datetime
    answers: int = Field(0, ge=0)


def read_conversation(raw: str | None) -> Conversation | None:
    """A conversation sent back by the browser, or None when there is none or it cannot be read (damaged,
    from an older version, edited by hand: logged, and the page starts afresh rather than failing)."""
    if not raw:
        return None
    try:
        return Conversation.model_validate_json(raw)
    except ValidationError as exc:
        log.warning("a saved conversation could not be read and was left aside: %s", exc.errors()[:1])
        return None


def read_listing(raw: str | None) -> list[Listed]:
    """The browser's list of saved conversations, newest first; unreadable entries are skipped."""
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        return []
    listed = []
    for item in items if isinstance(items, list) else []:
        try:
            listed.append(Listed.model_validate(item))
        except ValidationError:
            continue
    return sorted(listed, key=lambda c: c.updated, reverse=True)[:MAX_LISTED]


def listing_entry(conversation: Conversation) -> dict:
    """What the browser keeps beside a conversation for the list (so the list needs no conversation read)."""
    return Listed(id=conversation.id, title=conversation.title, updated=conversation.updated,
                  answers=len(conversation.turns)).model_dump(mode="json")
