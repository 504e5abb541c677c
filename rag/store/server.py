"""Server mode: where the Chroma server is, how to log in, and what its failures mean.

chromadb raises bare httpx errors when a server is down; callers need one
error that names the URL and says how to fix it, per question.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator
from urllib.parse import urlsplit

from ..errors import ConfigError, RagError, StoreAuthError, StoreUnavailableError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from ..config import Settings


@dataclass(frozen=True)
class ChromaServer:
    """Where the Chroma server is and how to log in to it (server mode)."""

    url: str
    tenant: str = "default_tenant"
    database: str = "default_database"
    token: str | None = field(default=None, repr=False)
    auth_header: str = "Authorization"

    def __post_init__(self) -> None:
        parts = urlsplit(self.url.strip())
        try:
            parts.port  # noqa: B018 - reading it validates it
        except ValueError as exc:  # not a number, or out of range
            raise ConfigError(f"RAG_CHROMA_URL={self.url!r} has a bad port ({exc}): use http://HOST:PORT.") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"RAG_CHROMA_URL={self.url!r} is not an http(s) address: use http://HOST:PORT, "
                "e.g. http://127.0.0.1:8000, or leave it empty for the embedded store."
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
            raise ConfigError(
                f"RAG_CHROMA_URL={self.url!r} has a path, query or credentials: give only http(s)://HOST:PORT "
                "(put a token in RAG_CHROMA_AUTH_TOKEN)."
            )
        object.__setattr__(self, "url", f"{parts.scheme}://{parts.netloc}")  # no trailing slash

    @classmethod
    def from_settings(cls, settings: Settings) -> ChromaServer | None:
        """None unless RAG_CHROMA_URL is set; ConfigError naming it when it is not a usable address."""
        if not settings.chroma_url:
            return None
        token = settings.chroma_auth_token.get_secret_value() if settings.chroma_auth_token else None
        return cls(settings.chroma_url, settings.chroma_tenant, settings.chroma_database, token,
                   settings.chroma_auth_header)

    def headers(self) -> dict[str, str]:
        """Chroma's token auth reads ``Authorization: Bearer <token>`` or ``X-Chroma-Token: <token>``."""
        if not self.token:
            return {}
        if self.auth_header.lower() == "authorization":
            return {"Authorization": f"Bearer {self.token}"}
        return {self.auth_header: self.token}

    def check(self, timeout: float = 10.0) -> None:
        """Fail in a moment, before the embedding model loads, if the server is down or refuses us."""
        import httpx

        with server_errors(self):
            response = httpx.get(f"{self.url}/api/v2/auth/identity", headers=self.headers(), timeout=timeout)
        if response.status_code in (401, 403):
            raise StoreAuthError(self.url, f"HTTP {response.status_code} {response.reason_phrase}")
        if response.status_code >= 400:
            raise StoreUnavailableError(
                self.url, f"HTTP {response.status_code} from /api/v2/auth/identity: is it a Chroma 1.x server?"
            )

    def connect(self) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from chromadb.errors import NotFoundError

        parts = urlsplit(self.url)
        ssl = parts.scheme == "https"
        with server_errors(self):
            try:
                return chromadb.HttpClient(
                    host=parts.hostname or "", port=parts.port or (443 if ssl else 80), ssl=ssl,
                    headers=self.headers(), tenant=self.tenant,
                    database=self.database, settings=ChromaSettings(anonymized_telemetry=False),
                )
            except NotFoundError as exc:  # the tenant or database does not exist there
                raise ConfigError(
                    f"Chroma server at {self.url} has no tenant {self.tenant!r} with database "
                    f"{self.database!r} ({exc}): set RAG_CHROMA_TENANT and RAG_CHROMA_DATABASE to ones that "
                    "exist there (the defaults are default_tenant and default_database)."
                ) from exc


@contextmanager
def server_errors(server: ChromaServer) -> Iterator[None]:
    """Turn a lost connection or a refused token into StoreUnavailableError / StoreAuthError.

    chromadb raises bare httpx errors from collection calls, and a ValueError
    wrapping them from ``HttpClient()``; the cause chain tells which it was.
    """
    try:
        yield
    except RagError:
        raise
    except Exception as exc:
        problem = _server_problem(server.url, exc)
        if problem is None:
            raise
        raise problem from exc


def _server_problem(url: str, exc: BaseException) -> StoreUnavailableError | None:
    import httpx
    from chromadb.errors import AuthorizationError, ChromaAuthError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ChromaAuthError, AuthorizationError)):
            return StoreAuthError(url, f"{type(current).__name__}: {current}")
        if isinstance(current, httpx.HTTPStatusError):  # a proxy's answer, not Chroma's own JSON error
            code = current.response.status_code
            detail = f"HTTP {code} {current.response.reason_phrase}"
            if code in (401, 403):
                return StoreAuthError(url, detail)
            if code in (502, 503, 504):
                return StoreUnavailableError(url, detail)
        if isinstance(current, httpx.TransportError):  # refused, timed out, or cut off mid-reply
            return StoreUnavailableError(url, f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return None
