"""Settings: one object, read from arguments, ``RAG_*`` variables or ``.env``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Everything that can be configured. Pass one to ``RAG``; nothing reads globals."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".rag"), description="Where the Chroma store and BM25 index live.")
    collection: str = Field("articles", description="Chroma collection name.")
    embed_model: str = Field(
        DEFAULT_EMBED_MODEL,
        description="all-MiniLM-L6-v2 (bundled, offline) or a local sentence-transformers folder.",
    )
    embed_batch_size: int = Field(32, ge=1)
    chunk_tokens: int = Field(
        200, ge=32, le=254,
        description="Word pieces per chunk; with the title prefix a chunk stays inside the 256-piece window.",
    )
    chunk_overlap_tokens: int = Field(32, ge=0, description="Overlap between neighbouring chunks.")
    max_file_mb: float = Field(20.0, gt=0, description="Larger files are skipped with a reason.")
    top_k: int = Field(5, ge=1, le=50, description="Passages handed to the answerer.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    abstain_threshold: float = Field(
        0.43, description="Extractive answers below this evidence score abstain (calibrated, see README)."
    )
    max_answer_sentences: int = Field(3, ge=1, le=10)
    max_question_chars: int = Field(2000, ge=10)
    concurrency: int = Field(4, ge=1, le=64, description="Default parallelism of ask_batch.")
