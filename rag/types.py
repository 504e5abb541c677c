"""Data that crosses a boundary: pydantic models only, no I/O.

The chain Document -> Chunk -> Passage -> Citation -> Answer keeps every
answer sentence tied to the exact characters of the file it came from.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator


Origin = Literal["corpus", "upload"]
"""Where an article's text came from: the corpus someone ingested, or a file uploaded through the page."""


class Upload(BaseModel):
    """Who uploaded an article through the page and when: carried to every passage and citation of it, so an
    uploaded text is never read as the corpus's."""

    by: str = Field(description="The logged-in user name, or 'anonymous' when the page has no login.")
    at: datetime = Field(description="When it was uploaded (UTC).")

    @classmethod
    def now(cls, by: str | None) -> "Upload":
        """An upload by ``by`` (empty: 'anonymous') at this moment, to the second, in UTC."""
        return cls(by=(by or "").strip() or "anonymous", at=datetime.now(timezone.utc).replace(microsecond=0))


def upload_note(origin: Origin, uploaded_by: str | None, uploaded_at: datetime | None) -> str | None:
    """'uploaded by alice on 2025-06-13T10:02:03Z' for an upload, None for the corpus: what every place that
    names a source shows beside it (unescaped; the page escapes it)."""
    if origin != "upload":
        return None
    when = uploaded_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if uploaded_at else "an unknown date"
    return f"uploaded by {uploaded_by or 'anonymous'} on {when}"


class Span(BaseModel):
    """A piece of a chunk's text copied verbatim from the source text.

    ``text[chunk_start:chunk_start+length] == source[source_start:source_start+length]``
    """

    chunk_start: int
    source_start: int
    length: int


class Provenance(BaseModel):
    """Where a text came from, carried from the document to every passage, citation and listing of it."""

    origin: Origin = Field("corpus", description="'upload' for a file uploaded through the page.")
    uploaded_by: str | None = Field(None, description="Who uploaded it (uploads only).")
    uploaded_at: datetime | None = Field(None, description="When it was uploaded, UTC (uploads only).")

    def upload_note(self) -> str | None:
        """'uploaded by alice on 2025-06-13T10:02:03Z' for an upload, None for the corpus."""
        return upload_note(self.origin, self.uploaded_by, self.uploaded_at)


class Document(Provenance):
    """One article as read from disk, before chunking."""

    doc_id: str
    source: str = Field(description="Absolute path of the file.")
    file_name: str
    title: str
    published: date | None = None
    updated: date | None = Field(None, description="When the article says it was last updated.")
    author: str | None = None
    outlet: str | None = Field(None, description="The publication, e.g. from og:site_name or a metadata sidecar.")
    url: str | None = Field(None, description="Where the article lives on the web (canonical URL), if known.")
    content_hash: str = Field(description="sha256 of the file bytes (and of its metadata sidecar row, if any).")
    kind: Literal["text", "markdown", "html", "pdf"]
    n_chars: int = Field(description="Length of the source text the offsets refer to.")
    dropped_lines: int = Field(0, description="Boilerplate or repeated lines removed by cleaning.")


class Chunk(BaseModel):
    """A sentence-aligned window of a document, sized to the embedding model."""

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    start: int = Field(description="Offset of the first character in the source text.")
    end: int = Field(description="Offset one past the last character in the source text.")
    spans: list[Span]
    n_tokens: int


class Report(BaseModel):
    """Another article that carries the same story (a wire text syndicated with small edits, ``rag.stories``):
    named beside the copy that is retrieved and cited, so a reader sees who else ran it without it taking a
    passage's place."""

    doc_id: str
    title: str
    source: str = Field(description="Absolute path of the file.")
    outlet: str | None = None
    url: str | None = None
    published: date | None = None

    def name(self) -> str:
        """How a reader knows it: the outlet, else the headline."""
        return self.outlet or self.title


def reported_by(reports: list[Report]) -> str:
    """How a source list introduces a story's other articles: "Also reported by 2 outlets" when each names its
    outlet, else "Also in 2 other articles" (a folder of plain files names none)."""
    n = len(reports)
    if all(r.outlet for r in reports):
        return f"Also reported by {n} outlet{'s' if n != 1 else ''}"
    return f"Also in {n} other article{'s' if n != 1 else ''}"


class Story(BaseModel):
    """Articles with near-identical text, earliest first: the first is the one retrieved and cited for the story,
    the others are listed as ``also_reported_by``."""

    members: list[Report]


class Passage(Provenance):
    """A retrieved chunk with its scores and the article it belongs to."""

    chunk_id: str
    doc_id: str
    text: str
    title: str
    source: str
    file_name: str
    published: date | None = None
    updated: date | None = None
    author: str | None = None
    outlet: str | None = None
    url: str | None = None
    start: int
    end: int
    spans: list[Span] = Field(default_factory=list, repr=False)
    score: float = Field(description="Reciprocal-rank-fusion score (higher is better).")
    dense_score: float | None = Field(
        None, description="Cosine similarity to the query (its best over a compound question's parts).")
    bm25_score: float | None = None
    also_reported_by: list[Report] = Field(
        default_factory=list, description="Other articles with the same story's text (syndicated copies), earliest "
                                          "first; they are left out of retrieval in favour of this one.")

    @classmethod
    def of_chunk(cls, doc: Document, chunk: Chunk) -> "Passage":
        """A chunk as a passage (score 0), before it is stored: what ingest hands to answer-side work."""
        return cls(chunk_id=chunk.chunk_id, doc_id=doc.doc_id, text=chunk.text, title=doc.title, source=doc.source,
                   file_name=doc.file_name, published=doc.published, updated=doc.updated, author=doc.author,
                   outlet=doc.outlet, url=doc.url, start=chunk.start, end=chunk.end, spans=chunk.spans, score=0.0,
                   origin=doc.origin, uploaded_by=doc.uploaded_by, uploaded_at=doc.uploaded_at)

    def provenance(self) -> list[str]:
        """Who wrote it, where and when, as a reader cites it: ["by Ann Lee", "Valley Gazette", "2025-06-02"]
        (known facts only)."""
        return [p for p in (self.author and f"by {self.author}", self.outlet,
                            self.published and self.published.isoformat()) if p]

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """Source offsets of ``text[start:end]``, which must lie inside one span (one cleaned segment).

        Raises ValueError for a range outside every span or across two. A passage without
        spans (built by hand) is taken as one verbatim slice from ``self.start``.
        """
        if not self.spans:
            return self.start + start, self.start + end
        for span in self.spans:
            if span.chunk_start <= start < span.chunk_start + span.length:
                if end > span.chunk_start + span.length:
                    break  # across two cleaned segments: no single source range copies it
                offset = span.source_start - span.chunk_start
                return start + offset, end + offset
        raise ValueError(f"range {start}:{end} does not lie inside one span of the passage's text")


class Citation(Provenance):
    """Where one cited sentence of an answer comes from."""

    n: int = Field(description="1-based number of the passage in Answer.passages.")
    chunk_id: str
    doc_id: str
    title: str
    source: str
    published: date | None = None
    updated: date | None = None
    author: str | None = None
    outlet: str | None = None
    url: str | None = None
    quote: str = Field(description="The supporting sentence, verbatim.")
    start: int = Field(description="Offset of the quote in the source text.")
    end: int
    passage_start: int = Field(description="Offset of the quote inside the passage text.")
    passage_end: int
    added: bool = Field(False, description="True when the model gave no citation and verification added it.")
    answer_span: tuple[int, int] | None = Field(
        None, description="The short answer's (start, end) inside ``quote``, when this sentence holds it.")
    also_reported_by: list[Report] = Field(
        default_factory=list, description="Other articles that ran the same story (its passage's).")


class UnsupportedSentence(BaseModel):
    """An answer sentence that none of the passages it cites (if any) states."""

    sentence: str
    cited: list[int] = Field(default_factory=list)
    reason: str


class DroppedCitation(BaseModel):
    """A ``[n]`` the model wrote that did not survive verification."""

    n: int
    sentence: str
    reason: str


class TimeScope(BaseModel):
    """A time expression of a question resolved against its ``as_of`` date (``rag.time.resolve``)."""

    expression: str = Field(description="As written in the question: 'this week', 'in August', 'latest'.")
    date_from: date | None = Field(None, description="First day of the range (inclusive); None: open.")
    date_to: date | None = Field(None, description="Last day of the range (inclusive); None: open.")
    recent: bool = Field(False, description="Asks for the current state: prefer the newest evidence, no range.")

    def describe(self) -> str:
        """'"this week" -> 2022-06-09..2022-06-16', '"latest" -> newest first', as the page and CLI show it."""
        if self.recent:
            return f'"{self.expression}" -> newest first'
        lo, hi = self.date_from, self.date_to
        if lo == hi and lo is not None:
            return f'"{self.expression}" -> {lo.isoformat()}'
        return f'"{self.expression}" -> {lo.isoformat() if lo else ""}..{hi.isoformat() if hi else ""}'


class Answer(BaseModel):
    """An answer with everything needed to check it."""

    question: str
    query: str = Field("", description="The standalone question answered and retrieved for: a follow-up "
                                        "rewritten with the conversation's topic, a misspelt one corrected.")
    corrections: list[tuple[str, str]] = Field(
        default_factory=list, description="Misspelt words corrected before searching: (as typed, as searched).")
    short_answer: str | None = Field(
        None, description="The asked-for span (a name, date, place, duration, number, amount) inside the first "
                          "cited sentence, e.g. 'more than four hours'; None when the question asks for no type.")
    text: str = ""
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    abstained: bool = False
    mode: Literal["extractive", "llm"] = "extractive"
    error: str | None = None
    confidence: float | None = Field(
        None, description="Extractive: the probability that the best sentence answers (rag.answer.abstention), "
                          "compared with Settings.abstain_threshold; LLM: share of supported sentences.")
    timings: dict[str, float] = Field(default_factory=dict)
    unsupported: list[UnsupportedSentence] = Field(
        default_factory=list, description="LLM mode: sentences no cited passage states (kept, to be marked).")
    dropped_citations: list[DroppedCitation] = Field(default_factory=list)
    model: str | None = Field(None, description="The LLM that wrote the answer (None when extractive).")
    raw_text: str = Field("", description="LLM mode: the model's reply before verification.")
    as_of: date | None = Field(None, description="The date the question was answered as of: later articles "
                                                 "were not evidence, its time words were resolved against it.")
    time_scopes: list[TimeScope] = Field(
        default_factory=list, description="The question's time expressions as resolved ('this week' -> a range).")
    notices: list[str] = Field(
        default_factory=list, description="What a reader should know about the evidence's age, e.g. 'The newest "
                                          "article on this is from 3 March 2025.'; shown under the answer.")
    filters: "Filters | None" = Field(None, description="The source and date filters the question was asked with.")

    def restated(self) -> str | None:
        """What was answered when it is not the question as typed: "Searched for: ..." after typo
        correction, "Answering: ..." for a follow-up made standalone; None otherwise. Shown by the page
        and the CLI so the reader can see what the quotes answer."""
        if not self.query or self.query == self.question:
            return None
        return f"{'Searched for' if self.corrections else 'Answering'}: {self.query}"


class TimelineEvent(BaseModel):
    """One dated step of a story: an article's sentence, cited, and the same event in other articles."""

    day: date = Field(description="The article's published date.")
    text: str = Field(description="The sentence as shown (one line).")
    citation: Citation
    also: list[Citation] = Field(default_factory=list, description="Later articles telling the same event.")


class Timeline(BaseModel):
    """What happened with a topic, oldest first (``RAG.timeline``); citations number into ``passages``."""

    topic: str
    as_of: date
    since: date | None = None
    until: date | None = None
    events: list[TimelineEvent] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    undated: int = Field(0, description="Retrieved articles without a date, which a timeline cannot place.")
    notes: list[str] = Field(default_factory=list, description="Why it is empty, when dates are the reason.")


class ArticleInfo(Provenance):
    """One indexed article, as a library listing shows it."""

    doc_id: str
    title: str
    source: str
    file_name: str
    published: date | None = None
    updated: date | None = None
    author: str | None = None
    outlet: str | None = None
    url: str | None = None
    chunks: int
    complete: bool = Field(True, description="False when an interrupted ingest left only some chunks.")


class SkippedFile(BaseModel):
    path: str
    reason: str


class IngestReport(BaseModel):
    """What one ingest run changed, for the summary line and for callers."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[SkippedFile] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="Problems that cost no document (a bad metadata sidecar line).")
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    documents_total: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        line = (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"removed {self.removed}, skipped {len(self.skipped)}; "
            f"chunks +{self.chunks_added}/-{self.chunks_removed} "
            f"({self.chunks_total} in {self.documents_total} documents); {self.seconds:.1f}s"
        )
        return line


class Filters(BaseModel):
    """Restrict retrieval to some articles and/or a published-date range.

    ``sources`` are doc ids, file names or paths (relative ones from the current
    folder, as ingest reads them; a folder means every article under it; a file
    name means every article of that name). A key that names no indexed article
    makes retrieval raise UnknownSourceError. With a date bound set, articles
    without a known published date are excluded; a reversed range is refused here.
    """

    sources: list[str] | None = None
    date_from: date | None = None
    date_to: date | None = None

    @model_validator(mode="after")
    def _range_in_order(self) -> "Filters":
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"The date range is empty: {self.date_from} is after {self.date_to}; "
                             "put the earlier date first.")
        return self

    @classmethod
    def checked(cls, **values: Any) -> "Filters":
        """``Filters(**values)``, but a bad value is a ValueError of one readable line (pydantic's
        ValidationError spans several), for the CLI and the page to show as it is."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ValueError("; ".join(
                (f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
                for e in exc.errors())) from None

    def is_empty(self) -> bool:
        return not self.sources and self.date_from is None and self.date_to is None


Answer.model_rebuild()  # Filters is defined after Answer
