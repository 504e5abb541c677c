"""Grounded, cited question answering over news articles.

    from rag import RAG, Settings
    rag = RAG(Settings(data_dir=".rag"))
    rag.ingest(["data/articles"])
    print(rag.ask("How long did Trump's phone call with Putin last?").text)
"""

from .answer.citations import parse_markers, strip_markers
from .api import RAG
from .config import Settings
from .time import human_date
from .ingest.readers import SUPPORTED as _SUPPORTED
from .errors import (
    BlockedAddressError,
    ConfigError,
    FeedError,
    FetchError,
    EmbeddingMismatchError,
    EmptyIndexError,
    EmptyQuestionError,
    LLMAuthError,
    LLMConnectionError,
    LLMError,
    LLMModelNotFoundError,
    LLMRateLimitError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
    QuestionTooLongError,
    RagError,
    ReaderUnavailableError,
    RobotsDisallowedError,
    StoreAuthError,
    StoreCorruptedError,
    StoreUnavailableError,
    UnknownFeedError,
    SourceChangedError,
    UnknownSourceError,
)
from .types import (
    Answer,
    ArticleInfo,
    Chunk,
    Citation,
    Document,
    DroppedCitation,
    Filters,
    IngestReport,
    Passage,
    Report,
    SkippedFile,
    Span,
    Story,
    TimeScope,
    Timeline,
    TimelineEvent,
    UnsupportedSentence,
    Upload,
    reported_by,
    upload_note,
)
from .web.feeds import Feed
from .web.pages import source_name
from .web.sync import SyncFailure, SyncReport

SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_SUPPORTED)
"""File name endings ``ingest`` reads (lower case)."""

__all__ = [
    "RAG", "Settings", "Answer", "ArticleInfo", "Chunk", "Citation", "Document", "Filters", "IngestReport",
    "Passage", "Report", "SkippedFile", "Story", "Span", "TimeScope", "Timeline", "TimelineEvent", "RagError", "ConfigError", "EmbeddingMismatchError",
    "EmptyIndexError", "EmptyQuestionError", "QuestionTooLongError", "StoreCorruptedError",
    "StoreUnavailableError", "StoreAuthError", "UnknownSourceError", "SourceChangedError", "ReaderUnavailableError",
    "DroppedCitation", "UnsupportedSentence", "LLMError", "LLMConnectionError", "LLMTimeoutError",
    "LLMAuthError", "LLMModelNotFoundError", "LLMRateLimitError", "LLMServerError", "LLMResponseError",
    "Upload", "reported_by", "upload_note", "parse_markers", "strip_markers", "human_date", "SUPPORTED_SUFFIXES",
    "Feed", "SyncReport", "SyncFailure", "FetchError", "BlockedAddressError", "RobotsDisallowedError", "FeedError",
    "UnknownFeedError", "source_name",
]
