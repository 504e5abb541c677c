"""OpenAI's chat-completions protocol over ``RAG``: any chat client (Open WebUI, LibreChat, the ``openai``
package) asks questions and gets cited answers.

The last message is the question; the earlier user and assistant messages are the history (our own earlier
replies come back with their source lists, which are cut off again). The reply's text keeps its ``[n]``
markers and ends with a numbered source list (``rag.format``), so a client that knows nothing of citations
still shows them; the response also carries ``citations`` (``SourceCitation``) and ``abstained`` beside
``choices``, and a streamed reply carries them in its last chunk, before ``[DONE]``.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..config import Settings
from ..format import CHECKED, tail, with_sources, without_sources
from ..types import Answer
from .guard import error_body
from .schemas import BadRequest, FiltersIn, Mode, citations

MODELS: dict[str, Mode | None] = {"newsrag": None, "newsrag-extractive": "extractive", "newsrag-llm": "llm"}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text; of a list of parts (``[{"type": "text", "text": ...}]``), the text parts."""
        if isinstance(self.content, list):
            return "\n".join(str(p.get("text") or "") for p in self.content if p.get("type") == "text").strip()
        return (self.content or "").strip()


class ChatRequest(BaseModel):
    """A chat-completions request. Options that do not apply (temperature, n, user, tools, ...) are accepted
    and ignored, as clients send them unasked; ``filters``, ``as_of`` and ``top_k`` are ours (``extra_body``
    in the openai client)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description="newsrag (the server's mode), newsrag-extractive or newsrag-llm.")
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation; the last one is the question.")
    stream: bool = False
    filters: FiltersIn | None = None
    as_of: date | None = None
    top_k: int | None = Field(None, ge=1, le=50)


class UnknownModelError(BadRequest):
    def __init__(self, model: str, known: list[str]):
        super().__init__(f"The model {model!r} does not exist here; use one of {', '.join(known)} (GET /v1/models).")


def models(settings: Settings) -> list[str]:
    """The model ids this server answers as: ``newsrag-llm`` only when an LLM server is configured."""
    return [m for m, mode in MODELS.items() if mode != "llm" or settings.llm_configured]


def mode_of(model: str, settings: Settings) -> Mode | None:
    """The answer mode a model id asks for (None: the server's own). Raises UnknownModelError."""
    known = models(settings)
    if model not in known:
        raise UnknownModelError(model, known)
    return MODELS[model]


def question_and_history(messages: list[ChatMessage]) -> tuple[str, list[dict]]:
    """(the question, the history ``RAG.ask`` takes). System messages are left out: answers come from the
    articles, whatever a client's system prompt asks, and so are replies that were errors. Raises BadRequest
    when the last message is not the user's."""
    last = messages[-1]
    if last.role != "user":
        raise BadRequest(f"The last message has the role {last.role!r}; end the conversation with the user's "
                         "question (role 'user').")
    history = [{"role": m.role, "content": without_sources(m.text()) if m.role == "assistant" else m.text()}
               for m in messages[:-1] if m.role in ("user", "assistant") and m.text()
               and not (m.role == "assistant" and m.text().startswith("Error: "))]
    return last.text(), history


def _envelope(kind: str, model: str, ident: str, created: int) -> dict:
    return {"id": ident, "object": kind, "created": created, "model": model}


def new_id() -> tuple[str, int]:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())


def completion(answer: Answer, model: str) -> dict:
    """The whole reply as a ``chat.completion`` object, with ``citations`` and ``abstained`` beside ``choices``."""
    ident, created = new_id()
    return {**_envelope("chat.completion", model, ident, created),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": with_sources(answer)},
                         "finish_reason": "stop", "logprobs": None}],
            **_extras(answer)}


def _extras(answer: Answer) -> dict:
    return {"citations": [c.model_dump(mode="json") for c in citations(answer)], "abstained": answer.abstained,
            "as_of": answer.as_of.isoformat() if answer.as_of else None, "answer": answer.text}


class Chunks:
    """The ``chat.completion.chunk`` events of one streamed reply, as ``data: ...`` lines."""

    def __init__(self, model: str):
        self.model = model
        self.ident, self.created = new_id()
        self.sent = ""

    def _event(self, delta: dict, finish: str | None = None, **extra: Any) -> str:
        body = {**_envelope("chat.completion.chunk", self.model, self.ident, self.created),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def start(self) -> str:
        return self._event({"role": "assistant", "content": ""})

    def text(self, delta: str) -> str:
        """Words as the answerer writes them."""
        self.sent += delta
        return self._event({"content": delta})

    def end(self, answer: Answer) -> str:
        """The rest of the reply, then the last chunk (``citations``, ``abstained``) and ``[DONE]``. When
        checking the answer changed its words (an LLM's citation that no passage supports is dropped), the
        checked text follows what was streamed, so the reader sees what the sources refer to."""
        rest = tail(answer)
        if self.sent.strip() != answer.text.strip():
            rest = f"\n\n{CHECKED}{answer.text.strip()}" + rest
        return (self._event({"content": rest}) + self._event({}, "stop", **_extras(answer)) + "data: [DONE]\n\n")

    def error(self, status: int, message: str, code: str) -> str:
        """An error after the reply started (the status line is sent): an ``error`` event, which the openai
        client raises as an APIError, then ``[DONE]``."""
        return f"data: {json.dumps(error_body(status, message, code=code))}\n\ndata: [DONE]\n\n"

