"""Logins for the page: read from a file or the environment, never needed on the command line, and
stored hashed if you like.

A login line is ``user:password`` or ``user:pbkdf2_sha256$ITERATIONS$SALT$HASH`` (salt and hash in
hex), the form ``hash_password`` writes: PBKDF2-HMAC-SHA256 as NIST SP 800-132 describes it, with
600,000 iterations (OWASP's 2023 figure for this hash). Blank lines and ``#`` comments are skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from pathlib import Path

from ..errors import ConfigError

PREFIX = "pbkdf2_sha256$"
ITERATIONS = 600_000


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    """``pbkdf2_sha256$ITERATIONS$SALT$HASH`` for ``password``, with a random 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{PREFIX}{iterations}${salt.hex()}${digest.hex()}"


def verify(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (plain text or ``hash_password``'s form), in constant time
    for a given stored value."""
    if not stored.startswith(PREFIX):
        return hmac.compare_digest(password.encode(), stored.encode())
    try:
        iterations, salt, digest = stored[len(PREFIX):].split("$")
        made = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
        return hmac.compare_digest(made, bytes.fromhex(digest))
    except ValueError:
        return False


def parse_logins(text: str, where: str) -> dict[str, str]:
    """user -> stored password from ``user:password`` lines. Raises ConfigError naming the line of
    ``where`` (a file name or variable) that is not one."""
    logins: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user.strip() or not password:
            raise ConfigError(f"{where} line {number} is not `user:password` (or `user:{PREFIX}...`); fix it.")
        if password.startswith(PREFIX) and password.count("$") != 3:
            raise ConfigError(f"{where} line {number}: a hashed password is {PREFIX}ITERATIONS$SALT$HASH; "
                              "make one with `rag-ui --hash-password`.")
        logins[user.strip()] = password
    return logins


def read_logins(path: Path) -> dict[str, str]:
    """The logins of an auth file (see ``parse_logins``). Raises ConfigError when it cannot be read or
    holds none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the auth file {path} ({getattr(exc, 'strerror', None) or exc}); "
                          "check --auth-file.") from None
    logins = parse_logins(text, str(path))
    if not logins:
        raise ConfigError(f"the auth file {path} has no `user:password` line; add one.")
    return logins


class Logins:
    """The check Gradio calls at login: pass ``Logins(...).check`` (async, so the hashing runs in a worker
    thread and never stalls the page for everyone else)."""

    def __init__(self, logins: dict[str, str]):
        # plain passwords are hashed now: every check then costs the same, so timing tells no user names
        self._logins = {user: stored if stored.startswith(PREFIX) else hash_password(stored)
                        for user, stored in logins.items()}
        self._decoy = hash_password("not a password")

    def __call__(self, user: str, password: str) -> bool:
        stored = self._logins.get(user)
        if stored is None:
            verify(password, self._decoy)  # an unknown name costs what a known one does: no user probing
            return False
        return verify(password, stored)

    async def check(self, user: str, password: str) -> bool:
        return await asyncio.to_thread(self, user, password)

    def __len__(self) -> int:
        return len(self._logins)
