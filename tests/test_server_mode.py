"""Server mode: the app against a real `chroma run` server on loopback (RAG_CHROMA_URL)."""

from __future__ import annotations

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings
from typer.testing import CliRunner

from rag import (
    RAG, ConfigError, EmptyIndexError, Filters, RagError, Settings, StoreAuthError, StoreUnavailableError, indexer,
)
from rag import cli
from rag.store import ChromaServer, Store

from .conftest import ARTICLES, CALL_FILE
from .fixtures.chroma_server import ChromaProcess, TokenProxy
from .fixtures.net import free_port

CALL_QUESTION = "How long did Trump's phone call with Putin last?"
OTHER_FILE = "000_8b6024e873124198.txt"
runner = CliRunner()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ChromaProcess(tmp_path_factory.mktemp("chroma") / "db") as proc:
        yield proc


@pytest.fixture(scope="module")
def served(server, embedder, tmp_path_factory):
    """The sample corpus ingested once into collection 'articles' on ``server``; tests only read it."""
    rag = RAG(Settings(data_dir=tmp_path_factory.mktemp("host_a"), chroma_url=server.url), embedder=embedder)
    return rag, rag.ingest([ARTICLES], progress=False)


def direct(port: int):
    """chromadb's own client, to check what the server holds without going through rag."""
    return chromadb.HttpClient(host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False))


def chroma_count(port: int, collection: str) -> int:
    with direct(port) as client:
        return client.get_collection(collection).count()


def test_ingest_and_ask_through_the_server(served, server):
    rag, report = served
    assert (report.added, report.skipped, report.documents_total) == (5, [], 5)
    assert report.chunks_total == chroma_count(server.port, "articles") > 0
    data_dir = rag.settings.data_dir
    assert not (data_dir / "chroma").exists()  # nothing embedded: Chroma is the server
    assert (data_dir / "bm25").is_dir() and not (data_dir / "bm25.dirty").exists()
    answer = rag.ask(CALL_QUESTION)
    assert "40-minute" in answer.text and answer.citations and not answer.error
    assert answer.passages[answer.citations[0].n - 1].file_name == CALL_FILE


def test_another_app_host_shares_the_index_and_builds_its_own_bm25(served, server, embedder, tmp_path):
    _, first = served
    other = RAG(Settings(data_dir=tmp_path / "host_b", chroma_url=server.url), embedder=embedder)
    report = other.ingest([ARTICLES], progress=False)
    assert (report.unchanged, report.added, report.updated) == (5, 0, 0)
    assert report.chunks_total == first.chunks_total
    # A term only BM25 can rank: it comes from this host's side index, rebuilt from the server.
    top = other.retrieve("Rutte", top_k=1)[0]
    assert "Rutte" in top.text and top.bm25_score is not None
    assert (tmp_path / "host_b" / "bm25").is_dir()


def test_filters_apply_in_server_mode(served):
    rag, _ = served
    passages = rag.retrieve("phone call", filters=Filters(sources=[OTHER_FILE]))
    assert passages and {p.file_name for p in passages} == {OTHER_FILE}
    answer = rag.ask(CALL_QUESTION, filters={"sources": [CALL_FILE]})
    assert answer.citations and {answer.passages[c.n - 1].file_name for c in answer.citations} == {CALL_FILE}


def test_stats_name_the_server_and_count_what_it_holds(served, server, embedder, monkeypatch):
    rag, _ = served
    stats = rag.stats()
    assert stats["chroma"] == "server" and stats["store"] == server.url
    assert stats["documents"] == 5 and stats["chunks"] == chroma_count(server.port, "articles")
    bm25_bytes = sum(p.stat().st_size for p in (rag.settings.data_dir / "bm25").rglob("*") if p.is_file())
    assert stats["size_bytes"] == bm25_bytes > 0  # only what is on this machine
    monkeypatch.setattr(cli, "_rag", lambda data_dir: RAG(Settings(), embedder=embedder))  # share the loaded model
    env = {"RAG_DATA_DIR": str(rag.settings.data_dir), "RAG_CHROMA_URL": server.url}
    result = runner.invoke(cli.app, ["stats"], env=env)
    assert result.exit_code == 0, result.output
    assert f"store: Chroma server {server.url} (collection articles)" in result.output
    assert f"chunks: {stats['chunks']}" in result.output and "BM25 side index:" in result.output


def test_changed_file_is_replaced_remove_and_rebuild_work(server, embedder, articles_copy, tmp_path):
    rag = RAG(Settings(data_dir=tmp_path / "idx", chroma_url=server.url, collection="edits"), embedder=embedder)
    rag.ingest([articles_copy], progress=False)
    with (articles_copy / CALL_FILE).open("a", encoding="utf-8") as fh:
        fh.write("\n\nThe Zorblaxian delegation arrived in Geneva on Tuesday.\n")
    report = rag.ingest([articles_copy], progress=False)
    assert (report.updated, report.unchanged, report.added) == (1, 4, 0)
    assert rag.ingest([articles_copy], progress=False).unchanged == 5  # kept chunks carry the new hash
    top = rag.retrieve("Zorblaxian delegation", top_k=1)[0]
    assert "Zorblaxian" in top.text and top.file_name == CALL_FILE and top.bm25_score is not None

    removed = rag.remove([CALL_FILE])
    assert removed.removed == 1 and removed.chunks_total == chroma_count(server.port, "edits")
    assert {a.file_name for a in rag.documents()} == {p.name for p in articles_copy.iterdir()} - {CALL_FILE}

    with direct(server.port) as client:
        before = client.get_collection("edits").id
    rebuilt = rag.ingest([articles_copy], rebuild=True, progress=False)
    assert rebuilt.added == 5 and rebuilt.chunks_total == chroma_count(server.port, "edits")
    with direct(server.port) as client:
        assert client.get_collection("edits").id != before  # the server's collection was deleted and made anew


def test_server_down_mid_batch_then_restart_loses_nothing(embedder, tmp_path, monkeypatch):
    with ChromaProcess(tmp_path / "db") as proc:
        rag = RAG(Settings(data_dir=tmp_path / "idx", chroma_url=proc.url), embedder=embedder)
        first = rag.ingest([ARTICLES], progress=False)
        real_ask = rag.ask

        def ask_then_stop(question, **kwargs):  # the server dies right after the first answer
            try:
                return real_ask(question, **kwargs)
            finally:
                proc.stop()

        monkeypatch.setattr(rag, "ask", ask_then_stop)
        questions = [CALL_QUESTION, "Who is the NATO Secretary General?", "What did Lavrov say?"]
        answers = rag.ask_batch(questions, concurrency=1, progress=False)
        monkeypatch.undo()
        assert answers[0].error is None and "40-minute" in answers[0].text
        for answer in answers[1:]:
            assert answer.error.startswith("StoreUnavailableError: ") and proc.url in answer.error
            assert "chroma run" in answer.error

        proc.start()  # same port, same folder
        assert "40-minute" in rag.ask(CALL_QUESTION).text  # the same RAG object reconnects
        again = rag.ingest([ARTICLES], progress=False)
        assert (again.unchanged, again.added, again.updated) == (5, 0, 0)
        assert (again.chunks_total, again.documents_total) == (first.chunks_total, first.documents_total)
        assert rag.stats()["chunks"] == chroma_count(proc.port, "articles") == first.chunks_total


def test_server_gone_mid_ingest_keeps_the_first_error_and_the_next_run_completes(
        embedder, articles_copy, tmp_path):
    with ChromaProcess(tmp_path / "db") as proc:
        settings = Settings(data_dir=tmp_path / "idx", chroma_url=proc.url)
        RAG(settings, embedder=embedder).ingest([articles_copy], progress=False)
        for path in articles_copy.iterdir():
            with path.open("a", encoding="utf-8") as fh:
                fh.write("\n\nA late correction was appended to this article.\n")
        store = Store(settings.data_dir, settings.collection, embedder.name, embedder.dim,
                      create=True, server=ChromaServer(proc.url))
        seen = []

        def stop_on_second_file(path):
            seen.append(path)
            if len(seen) == 2:
                proc.stop()

        with pytest.raises(StoreUnavailableError) as info:
            indexer.ingest([articles_copy], store, embedder, settings, progress=False, on_file=stop_on_second_file)
        assert info.value.url == proc.url
        assert any(entry.name == "add" for entry in info.traceback)  # the write's error, not the BM25 sync's
        assert not isinstance(info.value.__context__, RagError)
        assert (settings.data_dir / "bm25.dirty").exists()  # the side index is known to be stale

        proc.start()
        later = RAG(settings, embedder=embedder)
        assert "40-minute" in later.ask(CALL_QUESTION).text
        assert not (settings.data_dir / "bm25.dirty").exists()  # the question rebuilt it from Chroma
        report = later.ingest([articles_copy], progress=False)
        # files are embedded and written in batches, so how many were written before the stop varies
        assert (report.updated + report.unchanged, report.added) == (5, 0) and report.updated >= 4
        assert all(a.complete for a in later.documents()) and len(later.documents()) == 5
        assert report.chunks_total == chroma_count(proc.port, "articles")


def test_nothing_listening_names_the_url_from_python_and_the_cli(embedder, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    rag = RAG(Settings(data_dir=tmp_path / "idx", chroma_url=url), embedder=embedder)
    with pytest.raises(StoreUnavailableError, match="not reachable") as info:
        rag.ask(CALL_QUESTION)
    assert info.value.url == url and "ConnectError" in str(info.value)
    with pytest.raises(StoreUnavailableError):
        rag.ingest([ARTICLES], progress=False)
    env = {"RAG_DATA_DIR": str(tmp_path / "cli"), "RAG_CHROMA_URL": url}
    result = runner.invoke(cli.app, ["ask", CALL_QUESTION], env=env)
    assert result.exit_code == 1
    assert f"Chroma server at {url} is not reachable" in result.output and "chroma run" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://127.0.0.1:8000", "http://127.0.0.1:port",
                                 "http://127.0.0.1:99999", "http://127.0.0.1:8000/chroma", "http://:8000"])
def test_bad_chroma_url_is_a_config_error(url, tmp_path):
    rag = RAG(Settings(data_dir=tmp_path, chroma_url=url))
    with pytest.raises(ConfigError, match="RAG_CHROMA_URL"):
        rag.ask(CALL_QUESTION)
    result = runner.invoke(cli.app, ["ask", CALL_QUESTION], env={"RAG_DATA_DIR": str(tmp_path), "RAG_CHROMA_URL": url})
    assert result.exit_code == 1 and "RAG_CHROMA_URL" in result.output and "Traceback" not in result.output


def test_blank_url_means_the_embedded_store():
    assert Settings(_env_file=None, chroma_url="  ", chroma_auth_token="").chroma_url is None
    assert ChromaServer.from_settings(Settings(_env_file=None, chroma_url="")) is None
    assert ChromaServer("http://127.0.0.1:8000/").url == "http://127.0.0.1:8000"


def test_missing_collection_or_database_on_the_server(server, embedder, tmp_path):
    rag = RAG(Settings(data_dir=tmp_path, chroma_url=server.url, collection="never_ingested"), embedder=embedder)
    with pytest.raises(EmptyIndexError, match="rag ingest") as info:
        rag.ask(CALL_QUESTION)
    assert server.url in str(info.value) and "never_ingested" in str(info.value)
    with direct(server.port) as client:
        assert "never_ingested" not in {c.name for c in client.list_collections()}  # reading created nothing
    (tmp_path / "no_articles").mkdir()
    empty = RAG(Settings(data_dir=tmp_path, chroma_url=server.url, collection="empty_one"), embedder=embedder)
    assert empty.ingest([tmp_path / "no_articles"], progress=False).chunks_total == 0
    with pytest.raises(EmptyIndexError, match="empty_one") as info:
        empty.ask(CALL_QUESTION)
    assert server.url in str(info.value)
    nodb = RAG(Settings(data_dir=tmp_path, chroma_url=server.url, chroma_database="no_such_db"), embedder=embedder)
    with pytest.raises(ConfigError, match="RAG_CHROMA_DATABASE"):
        nodb.ask(CALL_QUESTION)


@pytest.mark.parametrize("header, sent", [("Authorization", "Bearer s3cret"), ("X-Chroma-Token", "s3cret")])
def test_token_is_sent_and_a_wrong_or_missing_one_is_named(served, server, embedder, tmp_path, header, sent):
    # Chroma 1.x's own server has no token auth; its docs put a proxy in front, as TokenProxy does here.
    with TokenProxy(server.port, header, sent) as proxy:
        def rag_with(**token) -> RAG:
            settings = Settings(data_dir=tmp_path / "idx", chroma_url=proxy.url, chroma_auth_header=header, **token)
            return RAG(settings, embedder=embedder)

        assert "40-minute" in rag_with(chroma_auth_token="s3cret").ask(CALL_QUESTION).text
        assert proxy.seen and all(h.get(header) == sent for h in proxy.seen)
        for token in ({"chroma_auth_token": "wrong"}, {}):
            with pytest.raises(StoreAuthError, match="RAG_CHROMA_AUTH_TOKEN") as info:
                rag_with(**token).ask(CALL_QUESTION)
            assert info.value.url == proxy.url and "401" in str(info.value)
        # Past the quick check too: chromadb's own client is refused, and the error is still named.
        with pytest.raises(StoreAuthError, match="RAG_CHROMA_AUTH_TOKEN"):
            Store(tmp_path / "direct", "articles", embedder.name, embedder.dim,
                  server=ChromaServer(proxy.url, token="wrong", auth_header=header))
