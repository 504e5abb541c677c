"""Settings: one object, read from arguments, ``RAG_*`` variables or ``.env``."""

from __future__ import annotations

from pathlib import Path

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"


def settings_problem(exc: ValidationError) -> str:
    """One line per bad setting, named as the user sets it: "RAG_DATE_ORDER: Input should be 'DMY', ... (got 'x')"."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "settings"
        field = Settings.model_fields.get(name)
        shown = (field.validation_alias.choices[0] if field is not None and field.validation_alias
                 else f"RAG_{name.upper()}")
        lines.append(f"{shown}: {error['msg']} (got {error.get('input')!r})")
    return "; ".join(lines) + ". Fix it in the environment or .env (see .env.example)."


def options_from_dotenv(names: tuple[str, ...], path: str = ".env") -> None:
    """Command options read from variables (``RAG_UI_PORT``, ``RAG_SERVE_HOST``) may come from ``.env`` too,
    like every setting; the environment wins. Call before the command line is parsed."""
    import os

    from dotenv import dotenv_values

    for key, value in dotenv_values(path).items():
        if key in names and value and key not in os.environ:
            os.environ[key] = value


class Settings(BaseSettings):
    """Everything that can be configured. Pass one to ``RAG``; nothing reads globals."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(Path(".rag"), description="Where the embedded Chroma store (unless RAG_CHROMA_URL is set), the BM25 side index and the ONNX model export live.")
    collection: str = Field("articles", description="Chroma collection name.")
    chroma_url: str | None = Field(
        None, description="A Chroma server, e.g. http://127.0.0.1:8000 (`chroma run`), instead of the "
        "embedded store in RAG_DATA_DIR/chroma; the BM25 side index stays in RAG_DATA_DIR.",
    )
    chroma_tenant: str = Field("default_tenant", description="Tenant on the Chroma server (server mode).")
    chroma_database: str = Field("default_database", description="Database on the Chroma server (server mode).")
    chroma_auth_token: SecretStr | None = Field(
        None, description="Static token for the Chroma server or the proxy in front of it (server mode).",
    )
    chroma_auth_header: Literal["Authorization", "X-Chroma-Token"] = Field(
        "Authorization", description="Authorization sends 'Bearer <token>'; X-Chroma-Token sends the token as is.",
    )

    @field_validator("chroma_url", "chroma_auth_token", mode="before")
    @classmethod
    def _chroma_blank_is_unset(cls, value: object) -> object:
        """``RAG_CHROMA_URL=`` (as in .env.example) means the embedded store, not an empty address."""
        return None if isinstance(value, str) and not value.strip() else value

    embed_model: str = Field(
        DEFAULT_EMBED_MODEL,
        description="all-MiniLM-L6-v2 (bundled, offline) or a local sentence-transformers folder.",
    )
    embed_batch_size: int = Field(32, ge=1)
    embed_backend: Literal["onnx", "onnx-int8", "torch"] = Field(
        "onnx",
        description="onnx: the model exported once to ONNX under RAG_DATA_DIR/models (fast start, same vectors); "
        "torch: sentence-transformers; onnx-int8: quantised, faster, slightly different vectors (own model name).",
    )
    chunk_tokens: int = Field(
        200, ge=32, le=254,
        description="Word pieces per chunk; with the title prefix a chunk stays inside the 256-piece window.",
    )
    chunk_overlap_tokens: int = Field(32, ge=0, description="Overlap between neighbouring chunks.")
    sentence_vectors: bool = Field(
        True, description="Encode every sentence the extractive answerer may quote at ingest, into "
        "RAG_DATA_DIR/sentences.sqlite3: answers skip that work (bench: warm answer p50 about 290 -> 20 ms) for "
        "about 1.8x the ingest time. Off: sentences are encoded when first quoted, and kept then.",
    )
    max_file_mb: float = Field(20.0, gt=0, description="Larger files are skipped with a reason.")
    feed_max_items: int = Field(
        100, ge=1, le=10_000, description="The newest items of a feed read per sync; a feed's older items "
        "(a 10,000-item archive feed) are left, so one sync costs at most this many page fetches per feed.",
    )
    date_order: Literal["DMY", "MDY", "YMD"] | None = Field(
        None, description="How the corpus writes all-numeric dates (03/04/2025): DMY, MDY or YMD. Unset: such "
        "dates, ambiguous when day and month could swap, leave the article undated.",
    )

    @field_validator("date_order", mode="before")
    @classmethod
    def _date_order_blank_is_unset(cls, value: object) -> object:
        """Empty means unset; "dmy" means DMY."""
        if isinstance(value, str):
            return value.strip().upper() or None
        return value

    stories: bool = Field(
        True, description="Keep articles with near-identical text (a wire story syndicated with small edits) as one "
        "story: only its earliest article is retrieved and cited, the others are listed as also reporting it "
        "(rag.stories). Off: every article stands alone.")
    top_k: int = Field(5, ge=1, le=50, description="Passages handed to the answerer.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    abstain_threshold: float = Field(
        0.4, description="Extractive answers abstain below this probability that the best sentence answers "
                          "(a logistic model over the evidence and its cutoff, both fitted by "
                          "eval/fit_abstention.py into rag/answer/abstention.json; see README).")
    recency_half_life_days: float = Field(
        14.0, gt=0, description="For questions about the current state ('latest', 'still'): the time list orders "
        "matches by relevance discounted by age, halving every this many days before as_of; longer lets a better "
        "older match lead, shorter puts the newest first.")
    time_weight: float = Field(
        1.0, ge=0, description="Weight of the time list (articles in the asked-for period, or newest first) in "
        "the rank fusion, beside the dense and BM25 lists (1 each); 0 turns time ranking off.")
    stale_after_days: int = Field(
        30, ge=0, description="An answer whose newest cited article is older than this at as_of says so "
        "('The newest article on this is from 3 March 2025.').")
    max_answer_sentences: int = Field(3, ge=1, le=10)
    max_question_chars: int = Field(2000, ge=10)
    concurrency: int = Field(4, ge=1, le=64, description="Default parallelism of ask_batch, and the answers "
                             "`rag serve` works on at once (more wait in its queue of RAG_QUEUE_MAX).")

    # --- Serving the page (and, next, the API) on a network ----------------------
    allowed_hosts: str = Field(
        "", description="Comma-separated host names the page answers to besides loopback ones (e.g. "
        "news.example.org); others get 421. Empty on 0.0.0.0: any name (the login guards it).")
    max_request_kb: int = Field(
        1024, ge=16, description="Largest request body other than an upload; larger ones get 413 before "
        "any work (a 5 MB question never reaches the page).")
    login_free_attempts: int = Field(
        5, ge=1, description="Failed logins a client or user name may make before each further attempt "
        "waits a lockout doubling from 1 s.")
    login_max_lock_s: float = Field(900.0, gt=0, description="The longest login lockout, in seconds.")
    queue_max: int = Field(64, ge=1, description="Jobs the page's (and `rag serve`'s) queue holds; more are refused as busy.")
    jobs_per_client: int = Field(
        8, ge=1, description="Questions one client may queue at once; one more every RAG_JOB_REFILL_S.")
    job_refill_s: float = Field(2.0, gt=0, description="Seconds for a client's question budget to gain one.")

    api_keys: SecretStr | None = Field(
        None, description="Bearer tokens `rag serve` accepts, comma-separated, each optionally named "
        "(`ci:TOKEN,alice:TOKEN2`; the name is who API uploads are credited to). Required off loopback; "
        "when set, loopback requests need one too.")
    cors_origins: str = Field(
        "", description="Comma-separated web origins (https://app.example.org) whose pages may call `rag serve` "
        "from a browser; empty: none (CORS off).")

    # --- Fetching from the web (feeds, `rag ingest URL`) ---------------------------
    fetch_allow_private: bool = Field(
        False, description="Fetch URLs on loopback, private, link-local and other internal addresses too. Off: "
        "such URLs (and redirects to them) are refused, so a feed cannot make this host read its own network.")
    fetch_allow_networks: str = Field(
        "", description="Internal addresses or networks fetched all the same, comma-separated "
        "(\"10.1.2.0/24, 192.168.1.5\"): one intranet news site, without opening every internal address.")

    @field_validator("fetch_allow_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        """Each entry an address or network, or the setting fails now, naming the entry."""
        import ipaddress

        for entry in (n.strip() for n in value.split(",")):
            try:
                if entry:
                    ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (write 10.1.2.0/24 or 192.168.1.5)")
        return value

    fetch_user_agent: str = Field(
        "newsrag/0.1 (news Q&A indexer)", min_length=1,
        description="User-Agent sent with every request; robots.txt rules are matched against its first word.")
    fetch_timeout_s: float = Field(
        15.0, gt=0, le=600, description="Seconds to wait for a connection, and for each read of an answer.")
    fetch_total_s: float = Field(
        60.0, gt=0, le=3600, description="Seconds one fetch may take in all (DNS, connecting, headers, body and "
        "redirects included, waits between retries not): a server that trickles bytes forever is cut off here.")
    fetch_max_mb: float = Field(
        10.0, gt=0, le=1000, description="Largest body accepted, in MB, after decompression: bigger pages are "
        "refused (a compressed bomb stops at this size).")
    fetch_retries: int = Field(
        2, ge=0, le=10, description="Retries, with backoff, on connection errors, timeouts, 429 and 5xx.")
    fetch_backoff_s: float = Field(
        0.5, ge=0, le=60, description="First wait before a retry, in seconds, doubling each time; a server's "
        "Retry-After is honoured instead (up to 30 s).")
    fetch_host_interval_s: float = Field(
        1.0, ge=0, le=600, description="Politeness: at least this many seconds between two requests to one host.")
    fetch_robots: bool = Field(
        True, description="Honour robots.txt (RFC 9309) for pages and feeds. Turn off only for sites that "
        "allow you to.")

    # --- LLM answers (any OpenAI-compatible server) ---------------------------
    llm: Literal["auto", "extractive", "openai"] = Field(
        "auto", description="auto = openai when OPENAI_API_KEY is set, else extractive (offline).",
    )
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "RAG_OPENAI_API_KEY", "openai_api_key"),
        description="Key for OpenAI; local servers (Ollama, llama.cpp) accept any value.",
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_BASE_URL", "RAG_OPENAI_BASE_URL", "openai_base_url"),
        description="An OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1 for Ollama.",
    )
    llm_model: str = Field("gpt-4o-mini", description="Chat model name as the server knows it.")
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    llm_max_tokens: int = Field(512, ge=16, le=16384, description="Longest answer the model may write.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds to wait for the server, per attempt.")
    llm_retries: int = Field(2, ge=0, le=10, description="Retries (with backoff) on timeouts, 429 and 5xx.")

    @field_validator("openai_api_key", "openai_base_url", "api_keys", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """``OPENAI_API_KEY=`` (as in .env.example) means no key, not an empty one."""
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def answer_mode(self) -> Literal["extractive", "llm"]:
        """The mode answers are made in, after resolving ``llm=auto``."""
        if self.llm == "openai" or (self.llm == "auto" and self.openai_api_key is not None):
            return "llm"
        return "extractive"

    @property
    def llm_configured(self) -> bool:
        """True when an LLM server is set up, so LLM answers can be asked for."""
        return self.openai_api_key is not None or self.openai_base_url is not None

    @property
    def llm_url(self) -> str:
        return self.openai_base_url or "https://api.openai.com/v1"

    @property
    def llm_where(self) -> str:
        """The LLM server as pages, logs and errors may show it: scheme, host, port and path, without any
        ``user:password@``, query (``?api-key=``) or fragment."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.llm_url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:  # a port that is not a number: shown as nothing rather than raising in a page
            port = ""
        return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else "(an unreadable URL)"
