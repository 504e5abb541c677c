"""Conversations kept in the reader's browser: what is saved, how big it may grow, how it is read back.

The page keeps no conversation on the server beyond a session's memory (``gr.State``): each one is saved in
the browser's localStorage under its own key (``app._STORE``), so a reload or a second tab finds it, and two
tabs writing different conversations never overwrite each other (two tabs on one conversation append their
answers to it). What comes back from the browser is untrusted: it is read with pydantic, bounded in size,
and rendered only through ``render``'s escaping. Behind a login, a conversation belongs to the user who
started it: another user of the same browser neither sees it listed nor can open it.

Saved answers are the ``Answer`` models without what only the server uses or must not show (raw LLM text,
timings, chunk spans, the files' server paths). A conversation over its budget (``budget_bytes``) drops the
passages of its oldest answers first (``Turn.dropped``: their text and citations stay, their badges open
each cited sentence in its article), then, if that is not enough, its oldest answers.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, Field, PrivateAttr, ValidationError

from rag import Answer

log = logging.getLogger(__name__)

MAX_LISTED = 50  # conversations offered in the list, newest first
TITLE_CHARS = 80
_LEAN = {"raw_text": True, "timings": True, "passages": {"__all__": {"spans"}}}
_ID = r"^[0-9a-f]{32}$"


def budget_bytes(max_request_kb: int) -> int:
    """The most UTF-8 bytes of JSON one conversation may take: a third of the largest request the guard takes
    (``RAG_MAX_REQUEST_KB``), since it travels to the server JSON-encoded inside two more JSON strings, each
    escaping its quotes again."""
    return max_request_kb * 1024 // 3


class Turn(BaseModel):
    """One question and its answer. ``dropped``: the passages were left out to keep the conversation small."""

    answer: Answer
    dropped: bool = False


class Conversation(BaseModel):
    """A conversation as saved in the browser; ``id`` names its localStorage key, ``owner`` the logged-in user
    who started it (None without a login)."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, pattern=_ID)
    owner: str | None = None
    started: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    updated: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    turns: list[Turn] = Field(default_factory=list)
    _sections: dict[tuple[int, bool], str] = PrivateAttr(default_factory=dict)  # rendered sources, by turn

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

    def with_answer(self, answer: Answer, budget: int) -> Conversation:
        """A copy with ``answer`` added (without what is not saved), trimmed to ``budget`` bytes."""
        grown = self.model_copy(update={"turns": [*self.turns, Turn(answer=_saved(answer))],
                                        "updated": datetime.now(UTC)})
        grown._sections = self._sections  # the earlier turns' sources are rendered already
        return grown.trimmed(budget)

    def trimmed(self, budget: int) -> Conversation:
        """Drop the passages of the oldest answers (never the newest) until the JSON fits ``budget`` bytes;
        then, if it still does not, the oldest answers themselves."""
        turns = list(self.turns)
        size = len(self.to_json().encode())
        for i, turn in enumerate(turns[:-1]):
            if size <= budget:
                break
            if not turn.dropped:
                before = len(turn.model_dump_json().encode())
                turns[i] = Turn(answer=turn.answer.model_copy(update={"passages": []}), dropped=True)
                size -= before - len(turns[i].model_dump_json().encode())
        popped = 0
        while size > budget and len(turns) > 1:
            size -= len(turns.pop(0).model_dump_json().encode()) + 1
            popped += 1
        if turns == self.turns:
            return self
        kept = self.model_copy(update={"turns": turns})
        kept._sections = {} if popped else self._sections  # turns renumbered: render them again
        return kept

    def to_json(self) -> str:
        """What the browser stores (``app._STORE``)."""
        return self.model_dump_json()


def _saved(answer: Answer) -> Answer:
    """``answer`` as it is saved in the browser: no raw LLM text, timings or spans, and no server paths."""
    data = answer.model_dump(exclude=_LEAN)
    for item in [*data["passages"], *data["citations"]]:
        item["source"] = ""
        for report in item.get("also_reported_by") or []:
            report["source"] = ""
    return Answer.model_validate(data)


class Listed(BaseModel):
    """One line of the list of conversations, as the browser reports it from its storage."""

    id: str = Field(pattern=_ID)
    owner: str | None = None
    title: str = Field("", max_length=400)
    updated: AwareDatetime
    answers: int = Field(0, ge=0)


def read_conversation(raw: str | None, owner: str | None, budget: int) -> Conversation | None:
    """A conversation sent back by the browser, trimmed to ``budget`` bytes, or None when there is none, it is
    another user's, or it cannot be read (damaged, from an older version, edited by hand: logged, and the page
    starts afresh rather than failing)."""
    if not raw:
        return None
    try:
        conversation = Conversation.model_validate_json(raw)
    except ValidationError as exc:
        log.warning("a saved conversation could not be read and was left aside: %s", exc.errors()[:1])
        return None
    return conversation.trimmed(budget) if conversation.owner == owner else None


def read_listing(items: object, owner: str | None) -> list[Listed]:
    """``owner``'s saved conversations from the browser's list (``app._STORE``), newest first; unreadable
    entries are skipped."""
    listed = []
    for item in items if isinstance(items, list) else []:
        try:
            entry = Listed.model_validate(item)
        except ValidationError:
            continue
        if entry.owner == owner:
            listed.append(entry)
    return sorted(listed, key=lambda c: c.updated, reverse=True)[:MAX_LISTED]


def to_store(conversation: Conversation, budget: int, previous: datetime | None) -> str:
    """What the browser stores after an answer: the conversation, its line in the list, and what lets a save
    append to a copy another tab changed since (``previous``: when this tab's copy was last saved or
    opened) rather than overwrite it: the new turn and the budget."""
    return json.dumps({"id": conversation.id, "conversation": conversation.to_json(),
                       "entry": Listed(id=conversation.id, owner=conversation.owner, title=conversation.title,
                                       updated=conversation.updated,
                                       answers=len(conversation.turns)).model_dump(mode="json"),
                       "turn": conversation.turns[-1].model_dump(mode="json"),
                       "previous": previous.isoformat() if previous else None, "budget": budget})
