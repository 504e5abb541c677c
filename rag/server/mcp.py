"""``rag mcp``: the index as an MCP server over stdio, so an agent (Claude Desktop, an IDE, any MCP client)
can ask cited questions of the articles, search passages and list what is indexed.

Why it is built this way:

- stdout is the protocol. Logging goes to stderr, and the SDK's ``stdio_server`` points fd 1 at stderr
  while it serves, so the model load (done inside the server's lifespan) and any stray print or progress
  bar cannot corrupt the stream.
- Our errors (``RagError``, ``ValueError``: a blank question, an empty index, a bad filter) come back as a
  tool error carrying their message, which already says how to fix it; the server keeps serving.
- ``RAG.ask`` is synchronous and CPU-bound, so every call runs in a worker thread: the event loop stays free
  to read requests and answer pings while a question is worked on.
- The embedding model loads in the background as the server starts: the handshake is not delayed, and the
  first question does not pay for the load (a call that comes sooner waits on the same load).
"""

from __future__ import annotations

import inspect
import logging
import sys
from importlib import metadata
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from ..api import RAG
from ..config import Settings, settings_problem
from ..errors import RagError
from ..format import with_sources
from ..types import ArticleInfo, Filters
from .schemas import CitedAnswer, citations

log = logging.getLogger("rag.mcp")
T = TypeVar("T")

Sources = Annotated[list[str] | None, Field(
    description="Only these articles: doc ids, file names or paths (see list_articles).")]
DateFrom = Annotated[str | None, Field(description="Only articles published on or after this day (YYYY-MM-DD).")]
DateTo = Annotated[str | None, Field(description="Only articles published on or before this day (YYYY-MM-DD).")]
AsOf = Annotated[str | None, Field(
    description="Answer as of this day (YYYY-MM-DD; default today): later articles are left out and time words "
                "('this week', 'latest') are read against it.")]
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


class Hit(BaseModel):
    """One retrieved passage; ``start``/``end`` are its character offsets in the article's source text."""

    n: int = Field(description="Rank, 1 = best match.")
    title: str
    doc_id: str
    outlet: str | None = None
    published: date | None = None
    url: str | None = None
    source: str = Field(description="The article's source: a file path on the server, or the stored web page.")
    text: str
    start: int
    end: int


async def _work(fn: Callable[[], T]) -> T:
    """``fn()`` in a worker thread; our errors become a tool error with their message."""
    try:
        return await anyio.to_thread.run_sync(fn)
    except (RagError, ValueError) as exc:
        raise ToolError(str(exc)) from exc


def build(rag: RAG) -> MCPServer:
    """The MCP server with the ``ask``, ``search`` and ``list_articles`` tools over ``rag``."""

    @asynccontextmanager
    async def warm_up(_: MCPServer) -> AsyncIterator[dict[str, Any]]:
        async def load() -> None:
            try:
                await anyio.to_thread.run_sync(lambda: rag.embedder, abandon_on_cancel=True)
            except Exception as exc:  # the first tool call reports it, as a tool error
                log.warning("could not load the embedding model: %s", exc)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(load)
            yield {}
            tasks.cancel_scope.cancel()

    server = MCPServer("rag", version=_version(), lifespan=warm_up, log_level="WARNING", instructions=(
        "Grounded answers from the indexed news articles. Use ask for a cited answer, search to read the "
        "matching passages yourself, list_articles to see what is indexed (and the names sources= takes)."))

    def tool(fn: Callable) -> Callable:
        """A read-only tool described by its docstring, dedented (clients show the description as is)."""
        return server.tool(annotations=READ_ONLY, description=inspect.cleandoc(fn.__doc__ or ""))(fn)

    def filters(sources: list[str] | None, date_from: str | None, date_to: str | None) -> Filters:
        return Filters.checked(sources=sources, date_from=date_from, date_to=date_to)

    @tool
    async def ask(question: str, sources: Sources = None, date_from: DateFrom = None, date_to: DateTo = None,
                  as_of: AsOf = None) -> Annotated[CallToolResult, CitedAnswer]:
        """Answer a question from the indexed news articles, quoting them with numbered [n] citations and a
        source list. When the articles do not state the answer it abstains (abstained=true, "The articles do
        not contain enough evidence...") instead of guessing."""
        answer = await _work(lambda: rag.ask(question, filters=filters(sources, date_from, date_to), as_of=as_of))
        if answer.error:
            raise ToolError(answer.error)
        cited = CitedAnswer(text=with_sources(answer), answer=answer.text, citations=citations(answer),
                            abstained=answer.abstained, as_of=answer.as_of)
        return CallToolResult(content=[TextContent(type="text", text=cited.text)],
                              structured_content=cited.model_dump(mode="json"))

    @tool
    async def search(query: str, top_k: Annotated[int, Field(ge=1, le=50)] = 5, sources: Sources = None,
                     date_from: DateFrom = None, date_to: DateTo = None, as_of: AsOf = None) -> list[Hit]:
        """Find the passages of the indexed news articles that best match a query (hybrid keyword and meaning
        search), best first, with title, outlet, date and URL. For reading the evidence yourself; use ask
        for a cited answer."""
        found = await _work(lambda: rag.retrieve(query, top_k, filters(sources, date_from, date_to), as_of))
        return [Hit(n=n, title=p.title, doc_id=p.doc_id, outlet=p.outlet, published=p.published, url=p.url,
                    source=p.source, text=p.text, start=p.start, end=p.end) for n, p in enumerate(found, 1)]

    @tool
    async def list_articles() -> list[ArticleInfo]:
        """List the indexed news articles, newest first: doc id, title, date, outlet, author, URL and chunk
        count. Empty when nothing is indexed yet."""
        return await _work(rag.documents)

    return server


def _version() -> str:
    try:
        return metadata.version("newsrag")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0"


def main(data_dir: Path | None) -> None:
    """Serve the index in ``data_dir`` (default RAG_DATA_DIR or .rag) over stdio until the client hangs up;
    a bad setting ends it with one line on stderr and exit status 1."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="rag mcp: %(levelname)s %(name)s: %(message)s")
    try:
        rag = RAG(Settings(data_dir=data_dir) if data_dir else Settings())
    except ValidationError as exc:
        print(f"error: {settings_problem(exc)}", file=sys.stderr)
        raise SystemExit(1) from None
    build(rag).run("stdio")
