"""The page as a web app: Gradio mounted in a FastAPI app that the guard (``rag.server``) fronts.

Gradio's own ``launch()`` builds its server with no place for the guard, so the page is mounted instead
and served by ``rag.server.run``; tests start exactly this app, on a free loopback port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.middleware.cors import CORSMiddleware

from rag import RAG

from . import app as page
from .cache import CacheLimits


def page_app(rag: RAG, upload_dir: Path | None = None, login: Callable[[str, str], bool] | None = None,
             cache_limits: CacheLimits | None = None) -> FastAPI:
    """The chat page over ``rag`` as an ASGI app; ``login`` checks a user name and password (no login
    page when None); ``cache_limits`` bound Gradio's upload cache (``ui.cache``). Its own CORS policy
    allows no other origin, so Gradio adds none of its own."""
    parent = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    parent.add_middleware(CORSMiddleware, allow_origins=[])
    if login is not None:
        _cancel_needs_login(parent)
    return gr.mount_gradio_app(
        parent, page.build_app(rag, upload_dir, cache_limits=cache_limits or CacheLimits()), path="", auth=login, show_error=False, ssr_mode=False,
        footer_links=["api"], theme=page.theme(), max_file_size=int(rag.settings.max_file_mb * 1_000_000),
    )


def _cancel_needs_login(parent: FastAPI) -> None:
    """Gradio 6 serves ``/gradio_api/cancel`` without checking the login that guards every other route:
    behind a login, a request there must carry a session cookie Gradio issued."""

    @parent.middleware("http")
    async def cancel_with_session(request: Request, call_next):
        if request.url.path.endswith("/cancel"):
            gradio = _gradio(parent)
            tokens = getattr(gradio, "tokens", {}) if gradio else {}
            if not any(k.startswith("access-token") and v in tokens for k, v in request.cookies.items()):
                return JSONResponse({"detail": "Not authenticated: log in first."}, status_code=401)
        return await call_next(request)


def _gradio(app: FastAPI):
    """The mounted Gradio app (its routes, blocks and login tokens)."""
    return next((r.app for r in app.routes if hasattr(getattr(r, "app", None), "get_blocks")), None)


# the page's own chained events: a list refresh, the example questions (cached until the library changes), a reset,
# a conversation brought back from the browser's storage and the list of them
CHEAP = {"refresh", "example_questions", "new_conversation", "<lambda>", "restore", "listing", "open_saved", "ask_delete"}


def answering(app: FastAPI) -> Callable[[dict], bool]:
    """Whether a queued Gradio job (its join payload) is real work a client's budget counts
    (``rag.server.throttle.JobBudget``): a question, a timeline, an upload or removal, fetching an article,
    following, syncing or dropping a feed, or a function not known here. The page's own chained events
    (refreshing the library, the example questions, clearing a box) are not: counting them made a page's
    ordinary use run out of budget."""
    blocks = _gradio(app).get_blocks()
    cheap = {i for i, fn in blocks.fns.items() if getattr(fn, "name", None) in CHEAP}
    return lambda job: job.get("fn_index") not in cheap
