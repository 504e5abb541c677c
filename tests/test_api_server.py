"""``rag serve``: the official ``openai`` client and raw HTTP against a real server on a free loopback port.

One ``rag serve`` process for the module (API keys set, so loopback requests need one too); the limits that
need other settings (a tiny rate budget, an index to upload into) run the same app in a thread.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from rag import RAG, Settings
from rag.answer.base import ABSTAIN_TEXT
from rag.format import with_sources
from rag.server.http import api_app, api_policy
from rag.server.keys import ApiKeys
from rag.server.run import make_server, start_in_thread

from .conftest import ARTICLES, CALL_FILE
from .fixtures.net import free_port, wait_for_http
from .fixtures.procs import ROOT, child_env

CALL_Q = "How long did Trump's phone call with Putin last?"
ALICE, BOB = "alice-" + "a" * 24, "bob-" + "b" * 24
KEYS = f"alice:{ALICE},bob:{BOB}"


def read_source(path: str) -> str:
    """A source file's text as the readers decode it (UTF-8, a BOM dropped)."""
    return Path(path).read_bytes().decode("utf-8-sig")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, embedder, model_cache) -> Path:
    folder = tmp_path_factory.mktemp("serve_index")
    shutil.copytree(model_cache, folder / "models", dirs_exist_ok=True)  # the server need not export the model
    RAG(Settings(data_dir=folder), embedder=embedder).ingest([ARTICLES], progress=False)
    return folder


@pytest.fixture(scope="module")
def served(data_dir):
    """A real ``rag serve`` process; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)], cwd=ROOT,
                            env=child_env(data_dir, RAG_API_KEYS=KEYS, RAG_JOBS_PER_CLIENT="1000"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health", proc)
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def client(served) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served}/v1", api_key=ALICE, max_retries=0)


def slices_exactly(citation: dict) -> bool:
    return read_source(citation["source"])[citation["start"]:citation["end"]] == citation["quote"]


def test_openai_client_gets_the_cited_answer(client):
    reply = client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": CALL_Q}])
    content = reply.choices[0].message.content
    assert "40-minute phone call with Putin. [1]" in content
    assert "\n\nSources:\n[1] Trump Pulls Back" in content and CALL_FILE in content
    extra = reply.model_extra
    assert extra["abstained"] is False
    first = extra["citations"][0]
    assert first["n"] == 1 and first["source"].endswith(CALL_FILE) and "40-minute" in first["quote"]
    assert slices_exactly(first)
    assert set(first) >= {"n", "doc_id", "title", "source", "url", "published", "quote", "start", "end"}


def test_streamed_reply_ends_with_the_citations(client):
    plain = client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": CALL_Q}])
    chunks = list(client.chat.completions.create(model="newsrag", stream=True,
                                                 messages=[{"role": "user", "content": CALL_Q}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content  # streamed word by word, it ends as the whole reply does
    assert "40-minute phone call with Putin. [1]" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == plain.model_extra["citations"] and slices_exactly(last.model_extra["citations"][0])
    assert all("citations" not in (c.model_extra or {}) for c in chunks[:-1])


def test_follow_up_uses_the_conversation(client, corpus_rag):
    first_q, follow = "When did Witkoff meet Putin?", "How long did it last?"
    first = client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": first_q}])
    reply = client.chat.completions.create(model="newsrag", messages=[
        {"role": "system", "content": "You are a helpful assistant."},  # a client's own prompt: left out
        {"role": "user", "content": first_q},
        {"role": "assistant", "content": first.choices[0].message.content},  # sent back with its source list
        {"role": "user", "content": follow}])
    said = corpus_rag.ask(first_q)
    expected = corpus_rag.ask(follow, history=[{"role": "user", "content": first_q},
                                               {"role": "assistant", "content": said.text}])
    assert reply.choices[0].message.content == with_sources(expected)
    assert "_Answering: How long did it last? (Witkoff meet Putin)_" in reply.choices[0].message.content


def test_abstention_says_so_and_cites_nothing(client):
    reply = client.chat.completions.create(model="newsrag-extractive",
                                           messages=[{"role": "user", "content": "What is the boiling point of tungsten?"}])
    content = reply.choices[0].message.content
    assert content.startswith(ABSTAIN_TEXT) and "\n\nClosest passages:\n[1] " in content
    assert reply.model_extra["abstained"] is True and reply.model_extra["citations"] == []


def test_models_and_an_unknown_model(client):
    assert [m.id for m in client.models.list()] == ["newsrag", "newsrag-extractive"]  # no LLM configured
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": CALL_Q}])
    assert "newsrag, newsrag-extractive" in str(caught.value)


def test_a_bad_or_missing_key_gets_401(served):
    bad = openai.OpenAI(base_url=f"{served}/v1", api_key="not-a-key-at-all-0000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        bad.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": CALL_Q}])
    assert "RAG_API_KEYS" in str(caught.value)
    for path in ("/v1/models", "/api/documents"):
        refused = httpx.get(served + path)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert httpx.get(served + "/health").status_code == 200  # no key needed to see it is up


def test_malformed_requests_get_json_errors_that_say_the_fix(served):
    headers = {"authorization": f"Bearer {ALICE}", "content-type": "application/json"}
    url = served + "/v1/chat/completions"
    broken = httpx.post(url, content=b'{"model": "newsrag", "messages": [', headers=headers)
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]["message"]
    missing = httpx.post(url, json={"model": "newsrag"}, headers=headers)
    assert missing.status_code == 400 and "messages: Field required" in missing.json()["detail"]
    huge = httpx.post(url, content=b"x" * (2 * 1024 * 1024), headers=headers)
    assert huge.status_code == 413 and "at most" in huge.json()["error"]["message"]
    blank = httpx.post(url, json={"model": "newsrag", "messages": [{"role": "user", "content": "  "}]},
                       headers=headers)
    assert blank.status_code == 400 and "question is empty" in blank.json()["error"]["message"]
    long = httpx.post(served + "/api/ask", json={"question": "why " * 1000}, headers=headers)
    assert long.status_code == 400 and "RAG_MAX_QUESTION_CHARS" in long.json()["detail"]
    typo = httpx.post(served + "/api/ask", json={"question": CALL_Q, "top_K": 3}, headers=headers)
    assert typo.status_code == 400 and "top_K" in typo.json()["detail"]
    last = httpx.post(url, json={"model": "newsrag", "messages": [{"role": "assistant", "content": "hi"}]},
                      headers=headers)
    assert last.status_code == 400 and "user's question" in last.json()["detail"]
    nowhere = httpx.get(served + "/v2/everything", headers=headers)
    assert nowhere.status_code == 404 and "/openapi.json" in nowhere.json()["detail"]
    for response in (broken, missing, huge, blank, long, typo, last, nowhere):
        assert "Traceback" not in response.text and response.headers["content-type"] == "application/json"


def test_api_ask_is_rag_ask_json(served, data_dir):
    answer = httpx.post(served + "/api/ask", json={"question": CALL_Q},
                        headers={"authorization": f"Bearer {BOB}"}, timeout=60).json()
    cli = subprocess.run([sys.executable, "-m", "rag.cli", "ask", CALL_Q, "--json"], cwd=ROOT, env=child_env(data_dir),
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    answer.pop("timings"), printed.pop("timings")  # seconds, which differ run to run
    assert answer == printed and "40-minute phone call" in answer["text"]


def test_rest_retrieve_documents_and_schema(served):
    headers = {"authorization": f"Bearer {ALICE}"}
    passages = httpx.post(served + "/api/retrieve", json={"question": CALL_Q, "top_k": 3}, headers=headers).json()
    assert len(passages) == 3 and passages[0]["source"].endswith(CALL_FILE)
    filtered = httpx.post(served + "/api/retrieve", headers=headers,
                          json={"question": CALL_Q, "filters": {"sources": ["000_8b6024e873124198.txt"]}}).json()
    assert {p["file_name"] for p in filtered} == {"000_8b6024e873124198.txt"}
    unknown = httpx.post(served + "/api/retrieve", headers=headers,
                         json={"question": CALL_Q, "filters": {"sources": ["nope.txt"]}})
    assert unknown.status_code == 404 and "nope.txt" in unknown.json()["detail"]
    documents = httpx.get(served + "/api/documents", headers=headers).json()
    assert len(documents) == 5 and all(d["complete"] for d in documents)
    schema = httpx.get(served + "/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/models", "/api/ask", "/api/retrieve", "/api/documents", "/api/ingest",
            "/api/documents/{doc_id}"} <= set(schema["paths"])


def test_off_loopback_without_keys_refuses_to_start(tmp_path):
    started = subprocess.run([sys.executable, "-m", "rag.cli", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
                             cwd=ROOT, env=child_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert started.returncode == 2 and "RAG_API_KEYS" in started.stderr and "--insecure-no-auth" in started.stderr


def test_keys_are_checked_when_read():
    assert ApiKeys.parse("") is None
    keys = ApiKeys.parse(KEYS)
    assert keys.identify(ALICE) == "alice" and keys.identify(BOB) == "bob" and keys.identify(ALICE[:-1]) is None
    assert ApiKeys.parse("x" * 20).identify("x" * 20) == "key1"
    for bad in ("short", f"a:{ALICE},b:{ALICE}", f"a:{ALICE},a:{BOB}", ":"):
        with pytest.raises(ValueError, match="RAG_API_KEYS entry"):
            ApiKeys.parse(bad)


class Threaded:
    """The API app served in a thread on a free loopback port, behind its guard."""

    def __init__(self, rag: RAG, keys: str | None):
        self.keys = ApiKeys.parse(keys)
        self.port = free_port()
        self.server = make_server(api_app(rag, self.keys), api_policy(rag.settings, "127.0.0.1", self.keys),
                                  "127.0.0.1", self.port)
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Threaded":
        self.thread = start_in_thread(self.server)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def test_each_key_has_its_own_budget(corpus_rag, embedder):
    rag = RAG(corpus_rag.settings.model_copy(update={"jobs_per_client": 2, "job_refill_s": 3600.0}),
              embedder=embedder)
    with Threaded(rag, KEYS) as served:
        ask = lambda key: httpx.post(served.base + "/api/retrieve", json={"question": CALL_Q},
                                     headers={"authorization": f"Bearer {key}"}, timeout=60)
        assert [ask(ALICE).status_code for _ in range(2)] == [200, 200]
        refused = ask(ALICE)
        assert refused.status_code == 429 and refused.headers["retry-after"]
        assert refused.json()["detail"].startswith("Too many requests: 2 in a burst, then one every 3600 s (per API key")
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert ask(BOB).status_code == 200  # another key is not held back
        assert httpx.get(served.base + "/api/documents",  # reading the list is not a job
                         headers={"authorization": f"Bearer {ALICE}"}).status_code == 200


def test_upload_and_remove_follow_the_page_rules(make_rag, tmp_path):
    rag = make_rag(jobs_per_client=100)  # every request here spends the key's budget, text reads included
    rag.ingest([ARTICLES / CALL_FILE], progress=False)
    story = "Harbour ferry returns\n\nThe harbour ferry resumed service on Monday after a two-week repair. " * 3
    with Threaded(rag, KEYS) as served:
        headers = {"authorization": f"Bearer {ALICE}"}
        added = httpx.post(served.base + "/api/ingest", headers=headers, files=[
            ("files", ("ferry.txt", story.encode(), "text/plain")),
            ("files", ("tool.exe", b"MZ\x90\x00", "application/octet-stream")),
            ("files", (CALL_FILE, b"an upload passing for the corpus article", "text/plain"))])
        body = added.json()
        assert added.status_code == 200 and body["report"]["added"] == 1
        reasons = {r["name"]: r["reason"] for r in body["rejected"]}
        assert "unsupported file type '.exe'" in reasons["tool.exe"]
        assert "may not take the name of an article" in reasons[CALL_FILE]
        documents = httpx.get(served.base + "/api/documents", headers=headers).json()
        ferry = next(d for d in documents if d["file_name"] == "ferry.txt")
        assert ferry["origin"] == "upload" and ferry["uploaded_by"] == "alice"
        nothing = httpx.post(served.base + "/api/ingest", headers=headers,
                             files=[("files", ("empty.pdf", b"", "application/pdf"))])
        assert nothing.status_code == 400 and nothing.json()["detail"].startswith("Nothing was indexed (empty.pdf:")
        stored = Path(ferry["source"]).read_bytes()
        emptied = httpx.post(served.base + "/api/ingest", headers=headers,  # a refused new version of ferry.txt
                             files=[("files", ("ferry.txt", b"", "text/plain"))])
        assert emptied.status_code == 400 and "ferry.txt: empty file" in emptied.json()["detail"]
        assert Path(ferry["source"]).read_bytes() == stored  # the indexed version's file is kept, not overwritten
        assert [p.name for p in Path(ferry["source"]).parent.iterdir()] == ["ferry.txt"]  # no leftovers

        page = ("<html><head><title>Bridge reopens</title></head><body><article><h1>Bridge reopens</h1>"
                "<p>The old bridge reopened to traffic on Tuesday after a year of repairs costing 4 million euros.</p>"
                "</article></body></html>")
        crlf = "\ufeffTunnel works\r\n\r\nThe tunnel will be closed for three weeks of works.\r\n"
        more = httpx.post(served.base + "/api/ingest", headers=headers, files=[
            ("files", ("bridge.html", page.encode(), "text/html")), ("files", ("tunnel.txt", crlf.encode(), "text/plain"))])
        assert more.status_code == 200 and more.json()["report"]["added"] == 2
        for question in ("How much did the bridge repairs cost?", "How long will the tunnel be closed for works?"):
            answer = httpx.post(served.base + "/api/ask", json={"question": question}, headers=headers).json()
            (cited, *_) = answer["citations"]
            text = httpx.get(f"{served.base}/api/documents/{cited['doc_id']}/text", headers=headers).json()["text"]
            assert text[cited["start"]:cited["end"]] == cited["quote"]  # HTML, BOM and CRLF: the text they index

        Path(ferry["source"]).write_text("Edited behind the index's back.")
        changed = httpx.get(f"{served.base}/api/documents/{ferry['doc_id']}/text", headers=headers)
        assert changed.status_code == 409 and "rag ingest" in changed.json()["detail"]
        removed = httpx.delete(f"{served.base}/api/documents/{ferry['doc_id']}", headers=headers)
        assert removed.status_code == 200 and removed.json()["removed"] == 1
        assert not Path(ferry["source"]).exists()  # the uploaded copy goes with it
        again = httpx.delete(f"{served.base}/api/documents/{ferry['doc_id']}", headers=headers)
        assert again.status_code == 404
        for key in ("~", CALL_FILE, "001_6455e6dab78b474c"):  # names and paths, which RAG.remove takes, are not ids
            refused = httpx.delete(f"{served.base}/api/documents/{key}", headers=headers)
            assert refused.status_code == 404 and "No indexed article matches" in refused.json()["detail"]
        left = httpx.get(served.base + "/api/documents", headers=headers).json()
        assert sorted(d["file_name"] for d in left) == sorted([CALL_FILE, "bridge.html", "tunnel.txt"])


def test_fifty_concurrent_requests_are_all_answered(corpus_rag, embedder):
    """None lost under load; p50/p95 printed (a report, not a check: the benchmark keeps the figures)."""
    rag = RAG(corpus_rag.settings.model_copy(update={"jobs_per_client": 64}), embedder=embedder)
    with Threaded(rag, None) as served, httpx.Client(timeout=300) as http:
        def one(i: int) -> tuple[int, str, float]:
            response = http.post(served.base + "/v1/chat/completions",
                                 json={"model": "newsrag", "messages": [{"role": "user", "content": CALL_Q}]})
            return response.status_code, response.json()["choices"][0]["message"]["content"], response.elapsed.total_seconds()

        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(one, range(50)))
    assert [status for status, _, _ in results] == [200] * 50
    assert all("40-minute phone call with Putin. [1]" in text for _, text, _ in results)
    seconds = sorted(s for _, _, s in results)
    print(f"50 concurrent: p50 {seconds[24]:.2f} s, p95 {seconds[47]:.2f} s")


def test_llm_answers_stream_through_and_are_checked(llm_rag, fake_llm):
    from tests.test_llm import CALL_SENTENCE, faithful

    fake_llm.default = faithful
    with Threaded(llm_rag(), None) as served:
        client = openai.OpenAI(base_url=f"{served.base}/v1", api_key="unused", max_retries=0)
        assert "newsrag-llm" in [m.id for m in client.models.list()]
        chunks = list(client.chat.completions.create(model="newsrag-llm", stream=True,
                                                     messages=[{"role": "user", "content": CALL_Q}]))
        words = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
        assert len(words) >= 5  # the model's words as it wrote them, then the sources
        text = "".join(words)
        (cited,) = chunks[-1].model_extra["citations"]
        assert text.startswith(f"{CALL_SENTENCE} [{cited['n']}]\n\nSources:\n[{cited['n']}] ")
        assert "Checked against the passages" not in text and slices_exactly(cited)

        fake_llm.default = f"{CALL_SENTENCE} [9] Also, the moon is made of cheese. [7]"  # markers that do not hold
        reply = client.chat.completions.create(model="newsrag-llm", stream=True,
                                               messages=[{"role": "user", "content": CALL_Q}])
        text = "".join(c.choices[0].delta.content or "" for c in reply)
        assert text.startswith(f"{CALL_SENTENCE} [9] Also, the moon is made of cheese. [7]\n\nChecked against the "
                               "passages: ")  # what was streamed is followed by what the sources refer to
        assert "[9]" not in text.split("Checked against the passages: ")[1]


def test_a_dead_llm_server_is_a_502_that_names_it(llm_rag, fake_llm):
    fake_llm.default = {"status": 503}
    with Threaded(llm_rag(), None) as served:
        client = openai.OpenAI(base_url=f"{served.base}/v1", api_key="unused", max_retries=0)
        for stream in (False, True):
            with pytest.raises(openai.APIStatusError) as caught:
                reply = client.chat.completions.create(model="newsrag-llm", stream=stream,
                                                       messages=[{"role": "user", "content": CALL_Q}])
                list(reply) if stream else None
            assert caught.value.status_code == 502 and "LLM server" in caught.value.message
        assert httpx.get(served.base + "/health").status_code == 200  # and the server goes on


def test_workers_refuse_past_their_queue_at_once():
    import asyncio
    import threading

    from rag.server.workers import BusyError, Workers

    async def scenario() -> list:
        workers, release = Workers(concurrency=1, queue_max=1), threading.Event()
        held = [asyncio.ensure_future(workers.run(release.wait)) for _ in range(2)]  # one running, one waiting
        await asyncio.sleep(0)
        try:
            with pytest.raises(BusyError, match="RAG_CONCURRENCY"):
                await workers.run(lambda: None)
        finally:
            release.set()  # a failed check must not leave the pool's thread waiting forever
        done = await asyncio.gather(*held)
        assert await workers.run(lambda: 42) == 42  # room again once they are done
        workers.close()
        return done

    assert asyncio.run(scenario()) == [True, True]


def test_an_empty_index_says_how_to_fill_it(make_rag):
    with Threaded(make_rag(), None) as served:
        empty = httpx.post(served.base + "/api/ask", json={"question": CALL_Q}, timeout=60)
        assert empty.status_code == 409 and "POST /api/ingest" in empty.json()["detail"]
        assert httpx.get(served.base + "/api/documents").json() == []


def test_pages_of_other_sites_cannot_write_or_skip_the_key(make_rag):
    """A form on any web page can post cross-site without CORS asking; the API refuses such writes (403), and
    an upload without a key gets its 401 before a byte of the body is read."""
    rag = make_rag(cors_origins="https://news.example.org/")
    files = [("files", ("note.txt", b"Harbour news. The ferry runs again on Monday after repairs.", "text/plain"))]
    with Threaded(rag, KEYS) as served:
        key = {"authorization": f"Bearer {ALICE}"}
        evil = httpx.post(served.base + "/api/ingest", files=files, headers={**key, "origin": "https://evil.example"})
        assert evil.status_code == 403 and "RAG_CORS_ORIGINS" in evil.json()["detail"]
        sneaky = httpx.post(served.base + "/api/ingest", files=files, headers={**key, "sec-fetch-site": "cross-site"})
        assert sneaky.status_code == 403
        assert rag.documents() == []  # nothing was saved or indexed
        preflight = httpx.options(served.base + "/v1/chat/completions", headers={
            "origin": "https://news.example.org", "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type, x-stainless-os"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://news.example.org"
        allowed = httpx.post(served.base + "/api/ingest", files=files,
                             headers={**key, "origin": "https://news.example.org"})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://news.example.org"
        spelled = httpx.post(served.base + "/api/ingest", files=files,  # the same origin, spelled otherwise
                             headers={**key, "origin": "HTTPS://News.Example.org:443"})
        assert spelled.status_code == 200

        with socket.create_connection(("127.0.0.1", served.port), timeout=60) as raw:  # headers only, no body
            raw.sendall(b"POST /api/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                        b"boundary=x\r\nContent-Length: 100000000\r\n\r\n")
            head = raw.recv(4096).decode("latin-1")  # answered at once: no wait for 100 MB that never come
        assert head.startswith("HTTP/1.1 401") and "www-authenticate: bearer" in head.lower()
        nokey = httpx.post(served.base + "/api/ingest", files=files)
        assert nokey.status_code == 401 and nokey.headers["www-authenticate"] == "Bearer"
        assert httpx.head(served.base + "/health").status_code == 200  # no key needed, HEAD too


def test_history_keeps_what_was_said_and_drops_the_source_list():
    from rag.format import without_sources

    reply = ("Trump held a 40-minute call. [1]\n\n**Short answer:** 40-minute\n\nNote: The newest article is "
             "old.\n\n_As of 1 June 2025_\n\nSources:\n[1] Title (undated, a.txt): “quote”\n")
    assert without_sources(reply) == "Trump held a 40-minute call. [1]"
    written = "_Kyiv_ is the capital. [1]\n\nNote that officials disagree. [2]\n\nSources:\n[1] A\n[2] B"
    assert without_sources(written) == "_Kyiv_ is the capital. [1]\n\nNote that officials disagree. [2]"
    assert without_sources("Raw [9]\n\nChecked against the passages: Good [1]\n\nSources:\n[1] A") == "Good [1]"
    assert without_sources("A plain reply from another assistant.\n\n_emphasis_") == (
        "A plain reply from another assistant.\n\n_emphasis_")  # no source list: nothing is cut


def test_the_schema_documents_the_errors_the_api_gives(served):
    schema = httpx.get(served + "/openapi.json").json()
    ask = schema["paths"]["/api/ask"]["post"]["responses"]
    assert "422" not in ask and ask["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert {"401", "429", "503"} <= set(ask) and "ErrorBody" in schema["components"]["schemas"]
    headers = {"authorization": f"Bearer {ALICE}"}
    form = httpx.post(served + "/api/ask", content=b"question=hi", headers={  # curl -d without a JSON type
        **headers, "content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 400 and "Content-Type: application/json" in form.json()["detail"]
    no_llm = httpx.post(served + "/api/ask", json={"question": CALL_Q, "mode": "llm"}, headers=headers)
    assert no_llm.status_code == 400 and "no LLM configured" in no_llm.json()["detail"]
    assert httpx.get(served + "/v1/models/newsrag", headers=headers).json()["id"] == "newsrag"
    assert httpx.get(served + "/v1/models/gpt-4o", headers=headers).status_code == 404


def test_a_failed_ingest_leaves_the_upload_folder_as_the_index_holds_it(make_rag, tmp_path, monkeypatch):
    """An ingest that raises (a store gone, a disk full) after an upload replaced a file: the file the index
    holds is the one on disk afterwards, nothing is left aside, and the ingest's own error is raised."""
    import threading

    from rag.uploads import add_uploads

    rag, folder, lock = make_rag(), tmp_path / "uploads", threading.Lock()
    sent = tmp_path / "sent.txt"

    def upload(text: str):
        sent.write_text(text)
        return add_uploads(rag, [sent], ["story.txt"], folder, "alice", lock)

    v1 = "Harbour ferry\n\nThe harbour ferry resumed service on Monday after a two-week repair.\n"
    v2 = "Harbour ferry\n\nThe harbour ferry stopped again on Friday after an engine fire.\n"
    assert upload(v1).report.added == 1
    real_ingest = rag.ingest

    def broken_before(*args, **kwargs):
        raise OSError("disk full")

    def broken_after(*args, **kwargs):
        real_ingest(*args, **kwargs)
        raise OSError("lost the store after writing")

    monkeypatch.setattr(rag, "ingest", broken_before)
    with pytest.raises(OSError, match="disk full"):
        upload(v2)
    assert (folder / "story.txt").read_text() == v1  # the index still holds v1: v1 is back
    monkeypatch.setattr(rag, "ingest", broken_after)
    with pytest.raises(OSError, match="lost the store"):
        upload(v2)
    assert (folder / "story.txt").read_text() == v2  # the index took v2 before failing: v2 stays
    (doc,) = rag.documents()
    assert rag.source_text(doc.doc_id).startswith("Harbour ferry")  # offsets fit the file on disk
    real_documents, calls = rag.documents, []

    def down_after_first(*args, **kwargs):  # lists the index for the name check, then the store is gone
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("store down")
        return real_documents(*args, **kwargs)

    monkeypatch.setattr(rag, "ingest", broken_before)
    monkeypatch.setattr(rag, "documents", down_after_first)
    with pytest.raises(OSError, match="disk full"):  # the ingest's error, not the one of reading the index
        upload(v1)
    assert (folder / "story.txt").read_text() == v2  # what the index held before this upload began
    assert sorted(p.name for p in folder.iterdir()) == ["story.txt"]  # nothing set aside or half-copied
