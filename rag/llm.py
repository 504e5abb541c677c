"""The chat model behind LLM mode: the official ``openai`` client, pointed at any compatible server.

Retries with backoff on timeouts, 429 and 5xx are the client's own
(``max_retries``, honouring ``Retry-After``). Every failure leaves here as one
``LLMError`` subclass whose message names the server URL and the fix.
"""

from __future__ import annotations

from typing import Iterator

from .config import Settings
from .errors import (
    ConfigError,
    LLMAuthError,
    LLMConnectionError,
    LLMError,
    LLMModelNotFoundError,
    LLMRateLimitError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
)

LOCAL_KEY = "not-needed"  # local servers ignore the key, but the client insists on one


class ChatModel:
    """Streams chat completions; one instance is shared by all threads (the client is thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        if not key and not settings.openai_base_url:
            raise ConfigError(
                "RAG_LLM=openai needs OPENAI_API_KEY (for OpenAI) or OPENAI_BASE_URL (for a local "
                "OpenAI-compatible server such as Ollama or llama.cpp); or set RAG_LLM=extractive."
            )
        self.settings = settings
        self.model = settings.llm_model
        self.url = settings.llm_where  # for messages: never the URL's credentials
        self._client = OpenAI(
            api_key=key or LOCAL_KEY, base_url=settings.openai_base_url or None,
            timeout=settings.llm_timeout, max_retries=settings.llm_retries,
        )

    def stream(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> Iterator[str]:
        """Text deltas as they arrive; raises ``LLMResponseError`` if the stream stops before the end."""
        try:
            events = self._client.chat.completions.create(
                model=self.model, messages=messages, stream=True,
                temperature=self.settings.llm_temperature,
                max_tokens=max_tokens or self.settings.llm_max_tokens,
            )
        except Exception as exc:
            raise self._translate(exc) from exc
        finished = False
        try:
            for event in events:
                if not getattr(event, "choices", None):
                    continue
                choice = event.choices[0]
                delta = getattr(choice.delta, "content", None) if choice.delta else None
                if delta:
                    yield delta
                if choice.finish_reason:
                    finished = True
        except LLMError:
            raise
        except Exception as exc:
            raise self._translate(exc, during_stream=True) from exc
        finally:
            close = getattr(events, "close", None)
            if close:
                close()
        if not finished:
            raise LLMResponseError(
                self.url, "the answer stream ended before the model finished (no finish_reason)",
                "The server or a proxy cut the connection; retry, and check the server's logs.",
            )

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str:
        """The whole reply as one string (used for short calls such as query rewriting)."""
        return "".join(self.stream(messages, max_tokens=max_tokens))

    def _translate(self, exc: Exception, during_stream: bool = False) -> LLMError:
        import openai

        url, model = self.url, self.model
        if isinstance(exc, openai.APITimeoutError) or "timeout" in type(exc).__name__.lower():
            return LLMTimeoutError(url, f"no reply within {self.settings.llm_timeout:g}s "
                                        f"(after {self.settings.llm_retries} retries)",
                                   "Check that the server is not overloaded, or raise RAG_LLM_TIMEOUT.")
        if isinstance(exc, openai.APIConnectionError):
            return LLMConnectionError(url, f"cannot connect ({exc.__cause__ or exc})",
                                      "Is the server running? Check OPENAI_BASE_URL, or set RAG_LLM=extractive "
                                      "to answer offline.")
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return LLMAuthError(url, f"the API key was refused ({exc.status_code})",
                                "Set OPENAI_API_KEY to a valid key for this server.")
        if isinstance(exc, openai.NotFoundError):
            return LLMModelNotFoundError(url, f"model {model!r} not found (404)",
                                         "Set RAG_LLM_MODEL to a model the server has (Ollama: `ollama list`), "
                                         "and check that OPENAI_BASE_URL ends in /v1.")
        if isinstance(exc, openai.RateLimitError):
            return LLMRateLimitError(url, f"rate limited (429) on {self.settings.llm_retries + 1} attempts",
                                     "Wait and retry, lower RAG_CONCURRENCY, or raise RAG_LLM_RETRIES.")
        if isinstance(exc, openai.APIStatusError):
            detail = _error_message(exc)
            if exc.status_code >= 500:
                return LLMServerError(url, f"server error {exc.status_code} on {self.settings.llm_retries + 1} "
                                           f"attempts ({detail})", "Check the server's logs, then retry.")
            return LLMServerError(url, f"request refused with {exc.status_code} ({detail})",
                                  "Check RAG_LLM_MODEL and the server's limits (context length, max tokens).")
        if during_stream:
            return LLMResponseError(url, f"the answer stream broke off ({type(exc).__name__}: {exc})",
                                    "Retry, and check the server's logs.")
        return LLMResponseError(url, f"unreadable reply ({type(exc).__name__}: {exc})",
                                "Check that OPENAI_BASE_URL points at an OpenAI-compatible /v1 endpoint.")


def _error_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:200]
    return str(getattr(exc, "message", exc))[:200]
