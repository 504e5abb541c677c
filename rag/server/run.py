"""Run an ASGI app behind the guard with uvicorn: the one way the page (and, next, ``rag serve``) listens."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn

from ..config import Settings
from ..errors import ConfigError
from .guard import Guard, GuardPolicy, allowed_hosts
from .throttle import JobBudget, LoginThrottle

CONNECTIONS = 200  # open connections at once; more get 503 from uvicorn before any work
UPLOAD_FILES = 10  # files one upload request may carry at RAG_MAX_FILE_MB each


def guard_policy(settings: Settings, host: str, costly: Callable[[dict], bool] | None = None) -> GuardPolicy:
    """The guard's limits from ``Settings`` for a server bound to ``host``; ``costly`` tells which queued
    jobs spend a client's budget (default: all)."""
    return GuardPolicy(
        costly=costly or (lambda job: True),
        allowed_hosts=allowed_hosts(host, settings.allowed_hosts.split(",")),
        max_body_bytes=settings.max_request_kb * 1024,
        # one upload request carries all the files picked at once: up to UPLOAD_FILES of them, and form fields
        max_upload_bytes=int(settings.max_file_mb * 1_000_000) * UPLOAD_FILES + 1_000_000,
        logins=LoginThrottle(settings.login_free_attempts, settings.login_max_lock_s),
        jobs=JobBudget(settings.jobs_per_client, settings.job_refill_s),
    )


def make_server(app, policy: GuardPolicy, host: str, port: int, ssl_certfile: Path | None = None,
                ssl_keyfile: Path | None = None) -> uvicorn.Server:
    """A uvicorn server for ``app`` behind ``Guard(policy)``, over TLS when a certificate and key are
    given (both or neither: ConfigError). Slow or idle connections are closed (keep-alive 5 s)."""
    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise ConfigError("TLS needs both --ssl-certfile and --ssl-keyfile.")
    for path in (ssl_certfile, ssl_keyfile):
        if path and not Path(path).is_file():
            raise ConfigError(f"{path} is not a file; check --ssl-certfile/--ssl-keyfile.")
    if ssl_certfile:  # read now, as uvicorn will: a bad file is one line here, not a traceback once serving
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(str(ssl_certfile), str(ssl_keyfile))
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"cannot use {ssl_certfile} with {ssl_keyfile} for TLS ({exc}); give a PEM certificate "
                              "and its private key (unencrypted) with --ssl-certfile/--ssl-keyfile.") from None
    config = uvicorn.Config(
        Guard(app, policy), host=host.strip("[]"), port=port, log_level="warning",
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None, ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        limit_concurrency=CONNECTIONS, timeout_keep_alive=5, ws="none", lifespan="on",
        proxy_headers=False,  # else a loopback client could name itself any client with X-Forwarded-For
    )
    return uvicorn.Server(config)


def start_in_thread(server: uvicorn.Server) -> threading.Thread:
    """Start ``server`` in a daemon thread and return once it listens (tests, embedding); raise
    RuntimeError when it stopped instead. Stop it with ``server.should_exit = True`` and ``join()``."""
    thread = threading.Thread(target=server.run, daemon=True, name="rag-server")
    thread.start()
    while not server.started:
        thread.join(0.02)  # waits on the thread: returns at once if it died
        if not thread.is_alive():
            raise RuntimeError("the server stopped while starting; see the log above")
    return thread
