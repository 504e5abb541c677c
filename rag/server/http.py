"""``rag serve``: the index over HTTP. OpenAI-compatible ``/v1/chat/completions`` and ``/v1/models`` for chat
clients; REST under ``/api`` for scripts; the schema at ``/openapi.json``.

One process, one shared ``RAG``: answers run on the bounded pool of ``workers`` (``RAG_CONCURRENCY``),
uploads and removals one at a time under a lock, as in the page. The guard (``rag.server.guard``) fronts it
all: host names, body sizes, security headers, and each API key's budget of questions (``RAG_JOBS_PER_CLIENT``
at once, one more every ``RAG_JOB_REFILL_S``). Every error is JSON that says the fix, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Request, UploadFile
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..api import RAG
from ..errors import RagError, UnknownSourceError
from ..types import Answer, ArticleInfo, IngestReport, Passage
from ..uploads import Uploaded, add_uploads, remove_articles, upload_dir
from .completions import ChatRequest, Chunks, completion, mode_of, models, question_and_history
from .errors import Unauthorized, document_errors, handle_errors, status_of
from .guard import GuardPolicy, error_body
from .keys import ApiKeys, bearer
from .run import guard_policy
from .schemas import AskRequest, BadRequest, RetrieveRequest, SourceText
from .workers import Workers

log = logging.getLogger("rag.server")

# the requests that cost an answer or an ingest: each spends one of its key's (or address's) budget
JOBS = re.compile(r"/v1/chat/completions/?|/api/(?:ask|retrieve|ingest|documents/[^/]+/text)/?")
UPLOAD_PATH = "/api/ingest"
OPEN_PATHS = ("/health", "/openapi.json")  # no key needed: whether it is up, and what it offers


_scheme = HTTPBearer(auto_error=False, description="One of RAG_API_KEYS (when the server has keys).")


def caller(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)]) -> str:
    """Who is asking: the name of the API key sent, or 'api' on a server without keys. Raises Unauthorized."""
    keys: ApiKeys | None = request.app.state.keys
    if keys is None:
        return "api"
    name = request.scope.get("rag.key") or keys.identify(credentials.credentials if credentials else None)
    if name is None:
        raise Unauthorized()
    return name


Caller = Annotated[str, Depends(caller)]


def api_app(rag: RAG, keys: ApiKeys | None, uploads: Path | None = None) -> FastAPI:
    """The API over ``rag`` as an ASGI app (serve it behind ``api_policy``'s guard). ``keys``: the accepted
    bearer tokens (None: no key asked for, loopback only). ``uploads``: where ``/api/ingest`` keeps files
    (default ``DATA_DIR/uploads``, the page's folder)."""
    settings = rag.settings
    workers = Workers(settings.concurrency, settings.queue_max)
    folder = Path(uploads or upload_dir(rag))
    write_lock = threading.Lock()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        workers.close()  # Ctrl+C: answers waiting in the queue are dropped, not worked through

    app = FastAPI(title="newsrag", version="1", docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Cited answers from your news articles. OpenAI-compatible chat completions, and REST.")
    if origins := cors_origins(settings):
        # any request header: the openai JS client sends its own x-stainless-* ones
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["*"])
    app.state.keys = keys
    handle_errors(app)

    @app.api_route("/health", methods=["GET", "HEAD"], tags=["server"])
    def health() -> dict:
        """Up and answering (no key needed)."""
        return {"status": "ok"}

    @app.get("/v1/models", tags=["openai"])
    def list_models(_: Caller) -> dict:
        """The models a chat client can pick: newsrag, newsrag-extractive, and newsrag-llm when an LLM is set up."""
        return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "newsrag"}
                                           for m in models(settings)]}

    @app.get("/v1/models/{model}", tags=["openai"])
    def get_model(model: str, _: Caller) -> dict:
        """One model, as ``client.models.retrieve`` asks for it; 404 for an unknown one."""
        mode_of(model, settings)
        return {"id": model, "object": "model", "created": 0, "owned_by": "newsrag"}

    @app.post("/v1/chat/completions", tags=["openai"])
    async def chat_completions(request: ChatRequest, _: Caller) -> Any:
        """Answer the conversation's last message, with ``[n]`` markers, a numbered source list, and
        ``citations``/``abstained`` beside ``choices`` (in the last chunk when streamed)."""
        mode = mode_of(request.model, settings)
        question, history = question_and_history(request.messages)
        filters = request.filters.checked() if request.filters else None
        ask = dict(history=history, filters=filters, top_k=request.top_k, mode=mode, as_of=request.as_of)
        if not request.stream:
            answer = await workers.run(lambda: rag.ask(question, **ask))
            return completion(answer, request.model)
        events = workers.stream(lambda: rag.stream(question, **ask))
        first = await anext(events)  # a bad question fails here, with a status code, before the reply starts
        return StreamingResponse(_chunks(Chunks(request.model), first, events), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})

    @app.post("/api/ask", tags=["rest"])
    async def ask(request: AskRequest, _: Caller) -> Answer:
        """The whole ``Answer`` (as ``rag ask --json`` prints it)."""
        if request.mode == "llm" and not settings.llm_configured:
            raise BadRequest("This server has no LLM configured: ask with mode 'extractive', or leave mode out.")
        filters = request.filters.checked() if request.filters else None
        return await workers.run(lambda: rag.ask(request.question, history=request.history, filters=filters,
                                                 top_k=request.top_k, mode=request.mode, as_of=request.as_of))

    @app.post("/api/retrieve", tags=["rest"])
    async def retrieve(request: RetrieveRequest, _: Caller) -> list[Passage]:
        """The passages a question retrieves, best first."""
        filters = request.filters.checked() if request.filters else None
        return await workers.run(lambda: rag.retrieve(request.question, top_k=request.top_k, filters=filters,
                                                      as_of=request.as_of))

    @app.get("/api/documents", tags=["rest"])
    async def documents(_: Caller) -> list[ArticleInfo]:
        """Every indexed article, newest first."""
        return await asyncio.to_thread(rag.documents)

    @app.get("/api/documents/{doc_id}/text", tags=["rest"])
    async def text(doc_id: str, _: Caller) -> SourceText:
        """The article's text as its citations' offsets index it: ``text[start:end] == quote`` (for HTML and
        PDF, the extracted text). 404 for an unknown id; 409 when the file changed since it was indexed."""
        found = await asyncio.to_thread(rag.source_text, doc_id)
        article = next((a for a in await asyncio.to_thread(rag.documents) if a.doc_id == doc_id), None)
        if article is None:  # removed in between
            raise UnknownSourceError({doc_id: []})
        return SourceText(doc_id=doc_id, title=article.title, source=article.source, url=article.url, text=found)

    @app.post(UPLOAD_PATH, tags=["rest"])
    async def ingest(files: Annotated[list[UploadFile], File(description="Articles: .txt .md .html .htm .pdf")],
                     who: Caller) -> dict:
        """Upload articles and index them, by the page's rules (type, RAG_MAX_FILE_MB, safe names, never the
        name of a collection article); each is credited to the API key's name. 400 when none was indexed."""
        names = [upload.filename or f"file{i}" for i, upload in enumerate(files)]

        def save_and_index() -> Uploaded:
            with tempfile.TemporaryDirectory(prefix="rag-api-upload-") as temp:
                paths = [Path(temp) / f"{i}.part" for i in range(len(files))]
                for path, upload in zip(paths, files):  # already spooled to disk by the multipart parser
                    with path.open("wb") as out:
                        shutil.copyfileobj(upload.file, out)
                return add_uploads(rag, paths, names, folder, who, write_lock)

        done = await asyncio.to_thread(save_and_index)
        rejected = [{"name": name, "reason": reason} for name, reason in done.rejected]
        if done.report is None or done.report.added + done.report.updated + done.report.unchanged == 0:
            reasons = "; ".join(f"{r['name']}: {r['reason']}" for r in rejected)
            return JSONResponse(error_body(400, f"Nothing was indexed ({reasons}).") | {"rejected": rejected},
                                status_code=400)
        return {"report": done.report.model_dump(mode="json"), "rejected": rejected}

    @app.delete("/api/documents/{doc_id}", tags=["rest"])
    async def remove(doc_id: str, _: Caller) -> IngestReport:
        """Take an article out of the index (an uploaded copy is deleted too). 404 for an unknown id."""
        return await asyncio.to_thread(remove_articles, rag, [doc_id], folder, write_lock)

    app.state.workers = workers
    document_errors(app)
    return app


async def _chunks(chunks: Chunks, first: str | Answer, events: AsyncIterator[str | Answer]) -> AsyncIterator[str]:
    yield chunks.start()
    try:
        event = first
        while True:
            if isinstance(event, Answer):
                yield chunks.end(event)
                return
            yield chunks.text(event)
            event = await anext(events)
    except Exception as exc:  # the reply has started: the error goes in the stream
        status, message, code = status_of(exc)
        if status == 500:
            log.error("unexpected error in a streamed reply", exc_info=exc)
        yield chunks.error(status, message, code)
    finally:
        await events.aclose()


def api_policy(settings, host: str, keys: ApiKeys | None) -> GuardPolicy:
    """The guard for the API: ``guard_policy``'s limits, jobs counted per API key (per address without
    keys), uploads allowed their larger size only on ``/api/ingest``, CORS kept when origins are configured."""
    def budget_key(scope: dict) -> str:
        if "rag.key" not in scope:  # identified once per request; the app's dependency reads it too
            scope["rag.key"] = keys.identify(bearer(scope.get("headers", []))) if keys else None
        name = scope["rag.key"]
        client = scope.get("client")
        return f"key:{name}" if name else f"client:{client[0] if client else 'unknown'}"

    def authorized(scope: dict) -> bool:
        return keys is None or scope.get("path") in OPEN_PATHS or budget_key(scope).startswith("key:")

    policy = guard_policy(settings, host)
    policy.job_path, policy.upload_paths, policy.login_paths = JOBS, (UPLOAD_PATH,), ()
    policy.job_methods = ("POST", "GET")  # GET .../text re-reads and re-extracts a whole file
    policy.budget_key, policy.authorized = budget_key, authorized
    policy.busy = (f"Too many requests: {settings.jobs_per_client} in a burst, then one every "
                   f"{settings.job_refill_s:g} s (per API key, or per address without keys); try again in "
                   "{wait:.0f} s.")
    policy.origins = cors_origins(settings)
    policy.cors = bool(policy.origins)
    return policy


def cors_origins(settings) -> list[str]:
    """The web origins of ``RAG_CORS_ORIGINS`` (``https://app.example.org``), without a trailing slash."""
    return [o.strip().rstrip("/") for o in settings.cors_origins.split(",") if o.strip()]


def main(host: str, port: int, data_dir: Path | None = None, insecure_no_auth: bool = False,
         allowed_hosts: str | None = None, ssl_certfile: Path | None = None, ssl_keyfile: Path | None = None) -> None:
    """``rag serve``: check everything that can fail fast (settings, keys, exposure, the port) before the
    model loads, then serve until Ctrl+C. Exit 1 (2 for an open non-loopback address) with one line saying
    the fix."""
    import typer
    from pydantic import ValidationError

    from ..config import Settings, settings_problem
    from .binding import is_loopback, port_problem
    from .run import make_server

    def fail(message: str, code: int = 1) -> None:
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code)

    try:
        overrides: dict[str, Any] = {"allowed_hosts": allowed_hosts} if allowed_hosts is not None else {}
        settings = Settings(data_dir=data_dir, **overrides) if data_dir else Settings(**overrides)
        keys = ApiKeys.parse(settings.api_keys.get_secret_value() if settings.api_keys else None)
    except ValidationError as exc:
        fail(settings_problem(exc))
    except RagError as exc:
        fail(str(exc))
    if not is_loopback(host) and keys is None and not insecure_no_auth:
        fail(f"--host {host} is reachable from other machines; set API keys with RAG_API_KEYS=name:TOKEN (in the "
             "environment or .env), or pass --insecure-no-auth if you really mean an open API.", 2)
    if problem := port_problem(host, port, env="RAG_SERVE", what="the API"):
        fail(problem)
    try:
        rag = RAG(settings)
        rag.embedder  # the model loads now, not on the first question
        server = make_server(api_app(rag, keys), api_policy(settings, host, keys), host, port, ssl_certfile,
                             ssl_keyfile)
        articles = len(rag.documents())
    except RagError as exc:
        fail(str(exc))
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    base = f"{'https' if ssl_certfile else 'http'}://{shown}:{port}"
    typer.echo(f"Index: {Path(settings.data_dir).resolve()} ({articles} articles)")
    typer.echo(f"API: {base}/v1 (OpenAI-compatible; models {', '.join(models(settings))}), {base}/api, "
               f"schema {base}/openapi.json" + (f"; {len(keys)} API key(s) required" if keys else ""))
    if insecure_no_auth and not is_loopback(host) and keys is None:
        typer.secho("warning: no API keys: anyone who reaches this address can ask, upload and remove articles.",
                    fg=typer.colors.YELLOW, err=True)
    if not is_loopback(host) and not ssl_certfile:
        typer.secho("warning: keys and answers travel in clear over the network; add --ssl-certfile and "
                    "--ssl-keyfile, or put the server behind a TLS proxy.", fg=typer.colors.YELLOW, err=True)
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind: the port was taken while the model loaded
        pass
    if not server.started:
        fail(port_problem(host, port, env="RAG_SERVE", what="the API") or f"could not listen on {host} port {port}")
