"""``rag mcp``: an MCP client from the ``mcp`` package drives a real ``rag mcp`` subprocess over stdio.

One server for the module (its start loads the model). The client runs in an anyio blocking portal (an event
loop in a thread), so the tests themselves stay synchronous. Every line the server writes to stdout must be a
protocol message: the client logs any other line as a parse failure, which the ``stray`` handler collects.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, Tool

from rag import RAG, Settings
from rag.answer.base import ABSTAIN_TEXT

from .conftest import ARTICLES, CALL_FILE
from .fixtures.procs import ROOT, child_env

CALL_Q = "How long did Trump's phone call with Putin last?"


class Lines(logging.Handler):
    """Collects what the client's stdio transport logs about lines that are not JSON-RPC."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, embedder, model_cache) -> Path:
    """The sample corpus indexed, with the session's ONNX export copied in (the server need not export it)."""
    folder = tmp_path_factory.mktemp("mcp_index")
    shutil.copytree(model_cache, folder / "models", dirs_exist_ok=True)
    RAG(Settings(data_dir=folder), embedder=embedder).ingest([ARTICLES], progress=False)
    return folder


class Session:
    """One connected client; each call checks that no stray line has reached the client so far."""

    def __init__(self, portal, client: Client, stray: Lines) -> None:
        self.portal, self.client, self.stray = portal, client, stray

    def __call__(self, tool: str, **arguments: Any) -> CallToolResult:
        result = self.portal.call(lambda: self.client.call_tool(tool, arguments))
        assert self.stray.records == []
        return result

    def tools(self) -> list[Tool]:
        return self.portal.call(self.client.list_tools).tools


@pytest.fixture(scope="module")
def server(data_dir) -> Session:
    """One ``rag mcp`` process for the module, connected through the SDK's stdio client."""
    stray = Lines()
    transport_log = logging.getLogger("mcp.client.stdio")
    transport_log.addHandler(stray)
    params = StdioServerParameters(command=sys.executable, args=["-m", "rag.cli", "mcp"], env=child_env(data_dir),
                                   cwd=str(ROOT))
    try:
        # read_timeout_seconds: a generous bound so a hung server fails the run instead of stalling it
        with start_blocking_portal() as portal, \
                portal.wrap_async_context_manager(Client(params, read_timeout_seconds=120)) as client:
            yield Session(portal, client, stray)
    finally:
        transport_log.removeHandler(stray)


def test_lists_exactly_the_three_tools_with_input_schemas(server):
    tools = {t.name: t for t in server.tools()}
    assert set(tools) == {"ask", "search", "list_articles"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert {"question", "sources", "date_from", "date_to", "as_of"} <= set(tools["ask"].input_schema["properties"])
    assert {"query", "top_k"} <= set(tools["search"].input_schema["properties"])
    assert tools["list_articles"].input_schema["properties"] == {}
    assert all(t.description and t.output_schema for t in tools.values())
    assert "citations" in tools["ask"].output_schema["properties"]


def test_ask_returns_a_cited_answer_whose_quote_is_in_the_source_file(server):
    result = server("ask", question=CALL_Q)
    assert not result.is_error
    text = result.content[0].text
    assert "40-minute phone call" in text and "[1]" in text and "\nSources:\n[1] " in text
    answer = result.structured_content
    assert answer["text"] == text and not answer["abstained"] and "[1]" in answer["answer"]
    first = answer["citations"][0]
    assert first["source"].endswith(CALL_FILE) and first["n"] == 1
    original = Path(first["source"]).read_bytes().decode("utf-8-sig")  # as rag.ingest.readers decodes it
    assert original[first["start"]:first["end"]] == first["quote"]
    assert "40-minute phone call" in first["quote"]


def test_ask_abstains_when_the_articles_do_not_say(server):
    result = server("ask", question="What is the boiling point of tungsten?")
    assert not result.is_error
    assert result.structured_content["abstained"] is True
    assert result.structured_content["citations"] == []
    assert result.content[0].text.startswith(ABSTAIN_TEXT)


def test_a_blank_question_is_a_tool_error_and_the_server_keeps_serving(server):
    result = server("ask", question="   ")
    assert result.is_error
    assert "The question is empty: type a question with at least one word." in result.content[0].text
    bad = server("ask", question=CALL_Q, date_from="2025-06-30", date_to="2025-01-01")
    assert bad.is_error and "put the earlier date first" in bad.content[0].text
    assert not server("ask", question=CALL_Q).is_error


def test_search_returns_numbered_passages(server):
    result = server("search", query="phone call between Trump and Putin", top_k=3)
    assert not result.is_error
    hits = result.structured_content["result"]
    assert [h["n"] for h in hits] == [1, 2, 3]
    assert any(h["source"].endswith(CALL_FILE) for h in hits)
    for h in hits:
        assert {"title", "doc_id", "outlet", "published", "url", "text", "start", "end"} <= set(h)
    unknown = server("search", query="Putin", sources=["no-such-article.txt"])
    assert unknown.is_error and "rag ingest" in unknown.content[0].text


def test_list_articles_returns_the_sample_corpus(server):
    result = server("list_articles")
    assert not result.is_error
    articles = result.structured_content["result"]
    assert len(articles) == 5
    assert {Path(a["source"]).name for a in articles} == {p.name for p in ARTICLES.glob("*.txt")}
    assert all(a["doc_id"] and a["title"] and a["chunks"] > 0 for a in articles)


def test_a_bad_setting_is_one_line_on_stderr_and_exit_1(tmp_path):
    run = subprocess.run([sys.executable, "-m", "rag.cli", "mcp"], env=child_env(tmp_path, RAG_TOP_K="many"),
                         cwd=ROOT, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and "RAG_TOP_K" in run.stderr
