"""One ASGI layer in front of every page or API this project serves: which hosts, how big, how fast.

It refuses before any work is done, and says why in one JSON line (``error_body``: ``{"detail": ...}``, as
FastAPI clients read errors, and OpenAI's ``{"error": {"message": ...}}``):
- a ``Host`` header that is not one of ours (DNS rebinding: a web page whose name was made to point at
  127.0.0.1 could otherwise read and drive the login-free loopback page): 421;
- a request body over its limit (``Content-Length`` checked before reading, the bytes counted while
  reading, so a false length does not help) or sent too slowly: 413 / 408;
- a login attempt while the client or the user name is locked out (``LoginThrottle``): 429, logged;
- a queued job over the client's budget (``JobBudget``), e.g. the 9th question of a script sending 300:
  429 with a "busy, try again" message;
- a login form that is not one plain URL-encoded ``username``: 400 (the throttle must read the name Gradio
  reads);
and it adds the headers a page needs against framing and MIME sniffing. Cross-origin reads get no CORS
header at all (the page and its API are same-origin).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .throttle import JobBudget, LoginThrottle

log = logging.getLogger("rag.server")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class _Refused(Exception):
    def __init__(self, status: int, detail: str, retry_after: float | None = None,
                 headers: list[tuple[bytes, bytes]] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.retry_after, self.headers = status, detail, retry_after, headers or []
        self.answered = False  # its response has been sent


@dataclass
class GuardPolicy:
    """What the guard enforces. ``allowed_hosts``: host names (no port) the page answers to; ``["*"]``
    answers any. ``max_body_bytes``: any request; ``max_upload_bytes``: requests to ``upload_paths``.
    ``body_timeout_s``: the longest wait for the next piece of a body. ``login_paths`` are path suffixes
    (a page may be mounted under a prefix); ``job_path`` matches a whole path."""

    allowed_hosts: list[str] = field(default_factory=lambda: list(LOOPBACK_HOSTS))
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 200_000_000
    body_timeout_s: float = 30.0
    # every way Gradio 6 starts a job: /queue/join (the page), /call/NAME, /call/v2/NAME, /run/NAME and
    # /api/NAME (its API), /component_server (a component's server function: the page's article view reads
    # and parses a whole file), each with or without a trailing slash, under any mount prefix
    job_path: re.Pattern = re.compile(
        r".*/(?:queue/join|component_server|call/(?:v2/)?[^/]+|run/[^/]+|api/[^/]+)/?")
    job_methods: tuple[str, ...] = ("POST",)
    upload_paths: tuple[str, ...] = ("/upload",)
    login_paths: tuple[str, ...] = ("/login", "/login/")
    costly: Callable[[dict], bool] = lambda job: True  # which queued jobs (Gradio's join payload) spend a budget
    # whose budget a job spends: the client's address by default; ``rag serve`` names the API key it carries
    budget_key: Callable[[Scope], str] = lambda scope: f"client:{_client(scope)}"
    busy: str = "Busy: too many questions from you at once; try again in {wait:.0f} s."  # a spent budget's 429
    cors: bool = False  # keep the app's CORS grants (RAG_CORS_ORIGINS); off: every one is dropped
    # an API (``rag serve``): who may call it, checked before any body is read (None: the app's own login)
    authorized: Callable[[Scope], bool] | None = None
    # an API: the web origins whose pages may send it writes; a POST or DELETE from any other site's page is
    # refused (a form can post cross-site without CORS asking). None: not checked (the page has its own)
    origins: list[str] | None = None
    logins: LoginThrottle = field(default_factory=LoginThrottle)
    jobs: JobBudget = field(default_factory=JobBudget)


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> list[str]:
    """The host names a page bound to ``bound`` answers to: loopback names for a loopback address, plus
    ``extra`` (``RAG_ALLOWED_HOSTS``). A page bound to every interface (0.0.0.0, ::) with no ``extra``
    answers any name: it sits behind a login, and the names it is reached by are the operator's to list."""
    extra = [h.strip().lower() for h in extra if h.strip()]
    bare = bound.strip("[]")
    if bare in ("0.0.0.0", "::", ""):
        return extra or ["*"]
    hosts = [bound.lower(), *extra]
    try:
        if ipaddress.ip_address(bare).is_loopback:
            hosts += LOOPBACK_HOSTS
    except ValueError:
        if bare.lower() in ("localhost", "localhost.localdomain"):
            hosts += LOOPBACK_HOSTS
    return list(dict.fromkeys(hosts))


class Guard:
    """The ASGI middleware; wrap the outermost app with it: ``Guard(app, GuardPolicy(...))``."""

    def __init__(self, app: ASGIApp, policy: GuardPolicy):
        self.app, self.policy = app, policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        refusals: list[_Refused] = []  # one raised while the app reads the body: answered in place of its 500
        try:
            self._check_host(scope)
            if scope["type"] == "websocket":
                return await self.app(scope, receive, send)
            path, method = scope.get("path", ""), scope.get("method", "GET")
            limit = self.policy.max_upload_bytes if path.endswith(self.policy.upload_paths) else \
                self.policy.max_body_bytes
            self._check_caller(scope, method)
            _check_length(scope, limit)
            receive = _bounded(receive, limit, self.policy.body_timeout_s, refusals)
            if method == "POST" and self.policy.login_paths and path.endswith(self.policy.login_paths):
                return await self._login(scope, receive, send)
            if method in self.policy.job_methods and self.policy.job_path.fullmatch(path):
                if path.rstrip("/").endswith("/queue/join"):  # Gradio's queue: only costly jobs count, by payload
                    body = await _read(receive)
                    receive = _replay(body, receive)
                    if self.policy.costly(_json(body)):
                        self._check_budget(scope)
                else:  # counted before a byte of the body is read
                    self._check_budget(scope)
            await self.app(scope, receive, _with_headers(send, refusals, self.policy.cors))
        except _Refused as refused:
            if not refused.answered:
                await _refuse(send, refused, websocket=scope["type"] == "websocket")
        except Exception:
            if not refusals:
                raise
            if not refusals[-1].answered:  # the app wrapped the refusal in its own error before answering
                await _refuse(send, refusals[-1])

    def _check_host(self, scope: Scope) -> None:
        if "*" in self.policy.allowed_hosts:
            return
        host = _header(scope, b"host") or ""
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        name = name.lower()
        if name not in self.policy.allowed_hosts and name.strip("[]") not in self.policy.allowed_hosts:
            log.warning("refused Host %r from %s", host, _client(scope))
            raise _Refused(421, f"This server does not answer to the host name {host!r}; add it to "
                                "RAG_ALLOWED_HOSTS (or --allowed-hosts) if it is yours.")

    def _check_caller(self, scope: Scope, method: str) -> None:
        """An API's key and the site of the page that sent a write, before any body is read."""
        if method == "OPTIONS":  # a CORS preflight carries no key; it changes nothing
            return
        if self.policy.authorized is not None and not self.policy.authorized(scope):
            raise _Refused(401, "Missing or wrong API key: send `Authorization: Bearer KEY` with one of the "
                                "server's RAG_API_KEYS.", headers=[(b"www-authenticate", b"Bearer")])
        if self.policy.origins is not None and method in ("POST", "PUT", "PATCH", "DELETE"):
            origin = _origin(_header(scope, b"origin") or "")
            allowed = "*" in self.policy.origins or origin in {_origin(o) for o in self.policy.origins}
            own = {_origin(f"{scheme}://{_header(scope, b'host')}") for scheme in ("http", "https")}
            cross = (_header(scope, b"sec-fetch-site") or "").lower() == "cross-site"
            if (origin and origin not in own and not allowed) or (cross and not allowed):
                log.warning("refused a %s from the page of %r (%s)", method, origin or "another site", _client(scope))
                raise _Refused(403, f"Refused: a page of {origin or 'another site'} may not send this request; "
                                    "add its origin to RAG_CORS_ORIGINS if it is yours.")

    def _check_budget(self, scope: Scope) -> None:
        wait = self.policy.jobs.take(self.policy.budget_key(scope))
        if wait:
            raise _Refused(429, self.policy.busy.format(wait=max(1.0, wait)), wait)

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read(receive)
        kind = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        users = parse_qs(body.decode("utf-8", "replace")).get("username", [])
        if kind != "application/x-www-form-urlencoded" or len(users) != 1:
            # the throttle keys on the user name read here: a form Gradio would read otherwise (multipart,
            # or a repeated field, of which it takes the last) must not pass unthrottled
            raise _Refused(400, "A login is a URL-encoded form with one username and one password.")
        user = users[0].strip()
        keys = [f"client:{_client(scope)}", f"user:{user}"]
        wait = self.policy.logins.attempt(keys)  # counted before it is checked: parallel tries cannot race past
        if wait:
            log.warning("login refused: %s (user %r) is locked out for %.0f s more", _client(scope), user, wait)
            raise _Refused(429, f"Too many failed logins; try again in {wait:.0f} s.", wait)
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await _with_headers(send, [])(message)

        await self.app(scope, _replay(body, receive), watch)
        if status and status[0] < 300:
            self.policy.logins.succeeded(keys)
        else:
            log.warning("failed login: %s (user %r)", _client(scope), user)


async def _read(receive: Receive) -> bytes:
    """The whole body (bounded by the guard's ``receive``): logins and queued jobs are small."""
    pieces = []
    while True:
        message = await receive()
        pieces.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(pieces)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the already read ``body``, then passes on (the client leaving)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def error_body(status: int, message: str, kind: str | None = None, code: str | None = None) -> dict:
    """Every error this project serves, in one JSON shape that both FastAPI clients (``detail``) and OpenAI
    clients (``error.message``) read: ``{"detail": message, "error": {"message", "type", "code"}}``."""
    kind = kind or ("rate_limit_error" if status == 429 else "authentication_error" if status == 401 else
                    "invalid_request_error" if status < 500 else "server_error")
    code = code or CODES.get(status, str(status))
    return {"detail": message, "error": {"message": message, "type": kind, "code": code, "param": None}}


CODES = {400: "invalid_request", 401: "invalid_api_key", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 408: "request_timeout", 409: "conflict", 413: "request_too_large",
         421: "unknown_host", 429: "rate_limit_exceeded", 500: "internal_error", 502: "upstream_error",
         503: "busy", 504: "upstream_timeout"}


def _origin(value: str) -> str:
    """A web origin as compared: lower case, no trailing slash, no default port (``HTTPS://Example.org:443/``
    is ``https://example.org``)."""
    value = value.strip().rstrip("/").lower()
    for scheme, port in (("http://", ":80"), ("https://", ":443")):
        if value.startswith(scheme) and value.endswith(port):
            return value[: -len(port)]
    return value


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def _check_length(scope: Scope, limit: int) -> None:
    length = _header(scope, b"content-length")
    if length is not None:
        try:
            claimed = int(length)
        except ValueError:
            raise _Refused(400, "Content-Length is not a number.") from None
        if claimed > limit:
            raise _Refused(413, f"The request is {claimed:,} bytes; this server takes at most {limit:,} (its "
                                "RAG_MAX_REQUEST_KB, or for uploads RAG_MAX_FILE_MB a file).")


def _bounded(receive: Receive, limit: int, timeout_s: float, refusals: list[_Refused]) -> Receive:
    """``receive`` that counts the body's bytes and refuses past ``limit``, and past ``timeout_s`` of
    silence between pieces (a client trickling a body holds a connection and a worker). A refusal is
    recorded in ``refusals`` too: the app may turn the exception into its own 500, which the guard then
    replaces (``_with_headers``)."""
    seen, complete = 0, False

    async def bounded() -> Message:
        nonlocal seen, complete
        if complete:  # the body is in: the app now listens for the client leaving (streamed replies), unbounded
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), timeout_s)
        except asyncio.TimeoutError:
            refusals.append(_Refused(408, f"The request body stopped arriving for {timeout_s:.0f} s."))
            raise refusals[-1] from None
        if message["type"] == "http.request":
            complete = not message.get("more_body", False)
            seen += len(message.get("body", b""))
            if seen > limit:
                refusals.append(_Refused(413, f"The request is over {limit:,} bytes; this server takes at "
                                              "most that (its RAG_MAX_REQUEST_KB, or for uploads RAG_MAX_FILE_MB "
                                              "a file)."))
                raise refusals[-1]
        return message

    return bounded


def _with_headers(send: Send, refusals: list[_Refused], cors: bool = False) -> Send:
    """``send`` adding the security headers and dropping CORS grants (unless ``cors``); once the body was
    refused, the app's own error response is replaced by the refusal."""
    async def sending(message: Message) -> None:
        if refusals:
            if not refusals[-1].answered and message["type"] == "http.response.start":
                await _refuse(send, refusals[-1])
            return
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if cors or k.lower() not in (
                b"access-control-allow-origin", b"access-control-allow-credentials")]
            present = {k.lower() for k, _ in headers}
            headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            message = {**message, "headers": headers}
        await send(message)
    return sending


async def _refuse(send: Send, refused: _Refused, websocket: bool = False) -> None:
    if websocket:  # a websocket is refused by closing it (1008: policy violation), not with an HTTP reply
        refused.answered = True
        await send({"type": "websocket.close", "code": 1008, "reason": refused.detail[:120]})
        return
    body = json.dumps(error_body(refused.status, refused.detail)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *SECURITY_HEADERS]
    if refused.retry_after is not None:
        headers.append((b"retry-after", str(max(1, round(refused.retry_after))).encode()))
    headers += refused.headers
    refused.answered = True
    try:
        await send({"type": "http.response.start", "status": refused.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    except Exception:  # the response had already started (a body over its limit mid-stream): drop the line
        log.warning("request refused mid-response: %s", refused.detail)
