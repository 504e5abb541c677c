"""Errors a caller handles differently; every message says how to fix it."""


class RagError(Exception):
    """Base class for everything this library raises on purpose."""


class EmptyQuestionError(RagError, ValueError):
    def __init__(self) -> None:
        super().__init__("The question is empty: type a question with at least one word.")


class QuestionTooLongError(RagError, ValueError):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            f"The question is {length} characters long, over the limit of {limit}: "
            "shorten it or raise RAG_MAX_QUESTION_CHARS."
        )


class EmptyIndexError(RagError):
    def __init__(self, where: str) -> None:
        super().__init__(
            f"Nothing is indexed in {where} yet: run `rag ingest PATH` "
            "(for example `rag ingest data/articles`) first."
        )


class EmbeddingMismatchError(RagError):
    def __init__(self, data_dir: str, stored: str, wanted: str) -> None:
        super().__init__(
            f"The store in {data_dir} was built with embedding model {stored}, "
            f"but the current setting is {wanted}. Re-ingest with "
            "`rag ingest PATH --rebuild`, or set RAG_EMBED_MODEL back to the stored model."
        )


class StoreCorruptedError(RagError):
    def __init__(self, data_dir: str, detail: str) -> None:
        super().__init__(
            f"The index in {data_dir} cannot be read ({detail}). Rebuild it with "
            "`rag ingest PATH --rebuild` (or delete the folder and ingest again)."
        )


class ReaderUnavailableError(RagError):
    """A file reader's libraries cannot be imported: the whole ingest stops before writing anything.

    Skipping every file of that kind one by one would hide a broken install
    behind a list of identical skip reasons.
    """

    def __init__(self, kind: str, module: str, package: str, detail: str) -> None:
        self.kind = kind
        self.module = module
        super().__init__(
            f"{kind.upper()} files need {module}, which cannot be imported ({detail}): run "
            f"`pip install {package}` (or `make install`) and ingest again."
        )


class ConfigError(RagError, ValueError):
    """A setting has a value this library cannot use."""


class StoreUnavailableError(RagError):
    """Server mode: nothing answered at the Chroma server's ``url`` (down, wrong address, network)."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        self.detail = detail
        super().__init__(self._message(url, detail))

    @staticmethod
    def _message(url: str, detail: str) -> str:
        return (
            f"Chroma server at {url} is not reachable ({detail}). Start it with "
            "`chroma run --path DIR --host 127.0.0.1 --port N`, or fix RAG_CHROMA_URL."
        )


class StoreAuthError(StoreUnavailableError):
    """401/403 from the Chroma server or the proxy in front of it: the token is missing or wrong."""

    @staticmethod
    def _message(url: str, detail: str) -> str:
        return (
            f"Chroma server at {url} refused the request ({detail}): set RAG_CHROMA_AUTH_TOKEN to a "
            "token it accepts, and RAG_CHROMA_AUTH_HEADER to the header it reads "
            "(Authorization or X-Chroma-Token)."
        )


class LLMError(RagError):
    """The LLM server could not give an answer; ``url`` names the server, the message the fix."""

    def __init__(self, url: str, problem: str, fix: str) -> None:
        self.url = url
        super().__init__(f"LLM server {url}: {problem}. {fix}")


class LLMConnectionError(LLMError):
    """Nothing answered at the URL (refused, DNS, TLS)."""


class LLMTimeoutError(LLMError):
    """The server took longer than ``RAG_LLM_TIMEOUT``, on every attempt."""


class LLMAuthError(LLMError):
    """401/403: the key is missing, wrong or lacks access."""


class LLMModelNotFoundError(LLMError):
    """404: the server does not have ``RAG_LLM_MODEL``."""


class LLMRateLimitError(LLMError):
    """429 on every attempt."""


class LLMServerError(LLMError):
    """5xx on every attempt, or another unexpected HTTP status."""


class LLMResponseError(LLMError):
    """The reply was malformed, or the stream broke off before the model finished."""


class FeedError(RagError):
    """A feed (or the feed list) that cannot be read: not RSS, Atom or a news sitemap, or malformed beyond use."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class UnknownFeedError(RagError, ValueError):
    """``rag feed remove`` named a feed that is not followed."""

    def __init__(self, url: str, followed: list[str]) -> None:
        self.url = url
        listed = ", ".join(followed) if followed else "none"
        super().__init__(f"No followed feed is {url!r} (followed: {listed}); `rag feed list` shows them.")


class UnknownSourceError(RagError, ValueError):
    """A source filter or ``remove`` key that names no indexed article (a typo, or a file not ingested).

    ``keys`` maps each such key to its nearest indexed file names (possibly none).
    """

    def __init__(self, keys: dict[str, list[str]]) -> None:
        self.keys = keys
        named = " or ".join(
            f"{key!r}" + (f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else "")
            for key, near in keys.items()
        )
        super().__init__(
            f"No indexed article matches {named}: use the file name, path or doc id of an indexed "
            "article, or index the file first with `rag ingest PATH`."
        )


def _one_line(text: str) -> str:
    """Collapse whitespace (a server's reason phrase or a URL may hold a newline): logs keep one line per error."""
    return " ".join(str(text).split())


class SourceChangedError(RagError):
    """An article's file changed or went away since it was indexed: its offsets no longer index its text."""

    def __init__(self, source: str, detail: str) -> None:
        self.source = source
        super().__init__(f"{source} {detail} since it was indexed, so its citations' offsets no longer fit it: "
                         f"run `rag ingest {source}` again (or remove the article).")


class FetchError(RagError):
    """A URL could not be fetched; ``reason`` says what happened, the message also the fix.

    ``status`` is the HTTP status when the server answered with an error (404, 410, 503 ...), else None,
    so a caller can tell "gone" from "try again later" without parsing the message.
    """

    fix = "check the URL in a browser, or try again later"

    def __init__(self, url: str, reason: str, *, fix: str | None = None, status: int | None = None,
                 transient: bool | None = None) -> None:
        self.url = url
        self.reason = _one_line(reason)
        self.status = status
        # worth trying again later (a timeout, a dropped connection, 408, 429, 5xx), as opposed to a page that
        # will fail the same way next time (404, a refused address, robots.txt, a wrong content type)
        self.transient = transient if transient is not None else status is not None and (
            status in (408, 429) or status >= 500)
        self.detail = f"{self.reason}; {_one_line(fix or self.fix)}"  # the message without the URL
        super().__init__(f"{_one_line(url)}: {self.detail}")


class BlockedAddressError(FetchError):
    """The URL (or a redirect) leads to a loopback, private or other internal address (SSRF rule)."""

    fix = "fetching internal addresses is refused (set RAG_FETCH_ALLOW_PRIVATE=true to allow it)"


class RobotsDisallowedError(FetchError):
    """The site's robots.txt asks crawlers like this one to stay out of the URL (or could not be read)."""

    fix = ("the site asks crawlers to stay away: drop this URL or feed, or, with the site's permission, "
           "set RAG_FETCH_ROBOTS=false")
