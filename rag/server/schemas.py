"""What ``rag serve`` and ``rag mcp`` take and give: pydantic models, so FastAPI validates requests, the
OpenAPI schema describes them, and the MCP tools declare their output.

Requests refuse unknown fields of our own (a typo'd ``top_K`` is an error, not silently the default), except
the OpenAI request, which clients fill with options (temperature, n, user, ...) that do not apply here.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..types import Answer, Citation, Filters

Mode = Literal["extractive", "llm"]


class SourceCitation(BaseModel):
    """One citation as a client needs it: which passage ``[n]`` names, which article, and the exact quote
    with its character offsets in the source text (``source_text[start:end] == quote``)."""

    n: int = Field(description="The [n] marker in the answer text.")
    doc_id: str
    title: str
    source: str = Field(description="The article's source: a file path on the server, or the stored web page.")
    url: str | None = None
    published: date | None = None
    outlet: str | None = None
    quote: str = Field(description="The cited sentence, verbatim.")
    start: int = Field(description="Offset of the quote in the source text (characters).")
    end: int

    @classmethod
    def of(cls, c: Citation) -> "SourceCitation":
        return cls(n=c.n, doc_id=c.doc_id, title=c.title, source=c.source, url=c.url, published=c.published,
                   outlet=c.outlet, quote=c.quote, start=c.start, end=c.end)


def citations(answer: Answer) -> list[SourceCitation]:
    return [SourceCitation.of(c) for c in answer.citations]


class CitedAnswer(BaseModel):
    """An answer for a chat client or an agent: its text with ``[n]`` markers and a source list, and the
    citations as data."""

    text: str = Field(description="The answer with [n] markers, ending with its numbered sources.")
    answer: str = Field(description="The answer text alone, [n] markers kept.")
    citations: list[SourceCitation]
    abstained: bool = Field(description="True when the articles do not state an answer: the text says so and lists the closest passages.")
    as_of: date | None = None


class SourceText(BaseModel):
    """An article's text as its offsets index it: ``text[citation.start:citation.end] == citation.quote``."""

    doc_id: str
    title: str
    source: str
    url: str | None = None
    text: str


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str
    param: None = None


class ErrorBody(BaseModel):
    """Every error: ``detail`` (as FastAPI clients read it) and ``error`` (as OpenAI clients do), one message
    that says what to change."""

    detail: str
    error: ErrorDetail


class BadRequest(ValueError):
    """A request that cannot be answered as sent (a reversed date range, a conversation that does not end
    with a question); its message says what to change. Other ValueErrors are the server's own bugs."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FiltersIn(Strict):
    """Only these articles (doc ids, file names or paths) and/or a published-date range (inclusive)."""

    sources: list[str] | None = None
    date_from: date | None = None
    date_to: date | None = None

    def checked(self) -> Filters | None:
        """As ``rag.Filters``; BadRequest for a reversed range. None when nothing is set."""
        try:
            f = Filters.checked(**self.model_dump())
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return None if f.is_empty() else f


class AskRequest(Strict):
    question: str = Field(description="The question (at most RAG_MAX_QUESTION_CHARS characters).")
    history: list[dict[str, Any]] | None = Field(
        None, description="Earlier turns, oldest first: [{'role': 'user'|'assistant', 'content': '...'}].")
    filters: FiltersIn | None = None
    top_k: int | None = Field(None, ge=1, le=50, description="Passages handed to the answerer (default RAG_TOP_K).")
    mode: Mode | None = Field(None, description="'extractive' or 'llm' (default: the server's).")
    as_of: date | None = Field(None, description="Answer as of this day (default today).")


class RetrieveRequest(Strict):
    question: str
    filters: FiltersIn | None = None
    top_k: int | None = Field(None, ge=1, le=50)
    as_of: date | None = None
