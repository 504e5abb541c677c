"""API keys for ``rag serve``: bearer tokens from ``RAG_API_KEYS``, each optionally named, compared in
constant time, so a client cannot learn a key a character at a time from how fast it is refused."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from ..errors import ConfigError

MIN_LENGTH = 16  # a shorter token can be guessed; `python -c "import secrets; print(secrets.token_urlsafe())"`


class ApiKeys:
    """The accepted keys, name -> token. ``RAG_API_KEYS="ci:TOKEN,alice:TOKEN2"`` (or bare tokens, named
    ``key1``, ``key2``, ... in order)."""

    def __init__(self, keys: dict[str, str]):
        self._keys = {name: hashlib.sha256(token.encode()).digest() for name, token in keys.items()}

    @classmethod
    def parse(cls, text: str | None) -> "ApiKeys | None":
        """None when ``text`` is empty (no keys: loopback only). Raises ConfigError, naming the entry by its
        position (never the token), for an empty, short, or repeated one."""
        if not text or not text.strip():
            return None
        keys: dict[str, str] = {}
        for i, entry in enumerate(text.split(","), 1):
            name, colon, token = entry.strip().rpartition(":")
            name = name.strip() if colon else f"key{i}"
            token = token.strip()
            if not name or len(token) < MIN_LENGTH:
                raise ConfigError(f"RAG_API_KEYS entry {i} is not `name:TOKEN` or `TOKEN` with a token of at least "
                                  f"{MIN_LENGTH} characters; make one with `python -c \"import secrets; "
                                  "print(secrets.token_urlsafe())\"`.")
            if name in keys or token in keys.values():
                raise ConfigError(f"RAG_API_KEYS entry {i} repeats a name or token of an earlier entry; give each "
                                  "client its own name and token.")
            keys[name] = token
        return cls(keys)

    def identify(self, token: str | None) -> str | None:
        """The name of the key ``token`` is, or None. Every key is compared (digests of equal length, with
        ``hmac.compare_digest``), whichever matches: the time taken says nothing about the keys."""
        if not token:
            return None
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for name, known in self._keys.items():
            if hmac.compare_digest(digest, known):
                found = name
        return found

    def __len__(self) -> int:
        return len(self._keys)


def bearer(headers: Any) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header (``headers``: a mapping or ASGI header pairs)."""
    if isinstance(headers, list):
        value = next((v.decode("latin-1") for k, v in headers if k.lower() == b"authorization"), None)
    else:
        value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
