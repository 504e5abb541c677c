"""Serving safely: the guard in front of a real page on a free loopback port (issue 17), attacked as a client
on the same network would: wrong passwords in a burst, a flood of questions, huge and slow bodies, a foreign
Host header, framing. Each refusal is checked for its status and its message, and what it protects still works."""

from __future__ import annotations

import html
import json
import socket
import ssl
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from rag import RAG, Settings
from rag.server.passwords import Logins, hash_password, parse_logins, read_logins, verify
from rag.server.run import guard_policy, make_server, start_in_thread
from rag.server.throttle import JobBudget, LoginThrottle
from rag.errors import ConfigError
from ui.cli import cli
from ui.site import answering, page_app

from .conftest import ARTICLES, CALL_FILE
from .fixtures.net import free_port
from .test_ui_cli import start_ui, stop

CALL_Q = "How long did Trump's phone call with Putin last?"


class Clock:
    """A clock the test moves: throttles are checked without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def indexed(embedder, tmp_path_factory):
    data = tmp_path_factory.mktemp("serving_index")
    RAG(Settings(data_dir=data), embedder=embedder).ingest([ARTICLES], progress=False)
    return data


def serve(data_dir, embedder, login=None, host="127.0.0.1", **settings):
    """The page behind the guard, as rag-ui serves it, in this process; yields (base URL, server)."""
    rag = RAG(Settings(data_dir=data_dir, **settings), embedder=embedder)
    port = free_port()
    app = page_app(rag, login=login)
    policy = guard_policy(rag.settings, host, answering(app))
    frozen = Clock()  # lockouts and budgets never lapse or refill mid-test, however slow the machine
    policy.logins = LoginThrottle(rag.settings.login_free_attempts, rag.settings.login_max_lock_s, clock=frozen)
    policy.jobs = JobBudget(rag.settings.jobs_per_client, rag.settings.job_refill_s, clock=frozen)
    server = make_server(app, policy, host, port)
    thread = start_in_thread(server)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join()


@pytest.fixture(scope="module")
def page(indexed, embedder):
    yield from serve(indexed, embedder)


@pytest.fixture(scope="module")
def login_page(indexed, embedder):
    yield from serve(indexed, embedder, login=Logins({"ann": hash_password("s3cret", iterations=1000),
                                                      "bob": "bobs-password"}).check)


# --- 1. logins are throttled per client and per user ---------------------------------------------------------

def test_a_burst_of_wrong_passwords_locks_the_client_and_the_user_out(login_page):
    url, _ = login_page
    statuses = [httpx.post(f"{url}/login", data={"username": "ann", "password": f"guess{i}"}).status_code
                for i in range(31)]
    assert statuses[:5] == [400] * 5  # Gradio's "Incorrect credentials."
    assert statuses[30] == 429  # the 31st is refused without being checked
    right = httpx.post(f"{url}/login", data={"username": "ann", "password": "s3cret"})
    assert right.status_code == 429 and "Too many failed logins; try again in" in right.json()["detail"]
    assert int(right.headers["retry-after"]) >= 1


def from_address(address: str) -> httpx.Client:
    """A client whose requests come from another loopback address: another machine, as the page sees it."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address))


def test_parallel_wrong_passwords_cannot_race_past_the_count(login_page):
    url, _ = login_page
    with from_address("127.0.0.4") as client, ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda i: client.post(f"{url}/login", data={"username": "dave", "password": str(i)})
                                 .status_code, range(30)))
    assert statuses.count(400) == 5 and statuses.count(429) == 25  # five were checked, whatever the timing


def test_a_login_form_the_throttle_cannot_read_is_refused(login_page):
    url, _ = login_page
    with from_address("127.0.0.6") as client:
        repeated = client.post(f"{url}/login", content="username=decoy&username=ann&password=s3cret",
                               headers={"content-type": "application/x-www-form-urlencoded"})
        multipart = client.post(f"{url}/login", files={"username": (None, "ann"), "password": (None, "s3cret")})
    for refused in (repeated, multipart):  # Gradio would read "ann" from these while the throttle saw another name
        assert refused.status_code == 400 and "one username" in refused.json()["detail"]


def test_the_lockout_doubles_and_a_success_clears_it():
    clock = Clock()
    throttle = LoginThrottle(free=3, max_lock_s=60, clock=clock)
    keys = ["client:10.0.0.7", "user:ann"]
    for _ in range(3):
        assert throttle.wait(keys) == 0
        throttle.failed(keys)
    assert throttle.wait(keys) == 1.0  # 2**0 after the free attempts
    throttle.failed(keys)
    assert throttle.wait(keys) == 2.0
    for _ in range(20):
        throttle.failed(keys)
    assert throttle.wait(keys) == 60.0  # capped
    assert throttle.wait(["client:10.0.0.8", "user:ann"]) == 60.0  # the user is locked from anywhere
    assert throttle.wait(["client:10.0.0.8", "user:bob"]) == 0.0
    clock.now += 61
    assert throttle.wait(keys) == 0.0
    throttle.failed(keys)  # a failure long after the last one starts a new count
    assert throttle.wait(keys) == 0.0
    throttle.succeeded(keys)
    assert throttle.wait(keys) == 0.0


# --- 2. logins come from a file or the environment, hashed if you like ----------------------------------------

def test_hashed_and_plain_logins(tmp_path):
    stored = hash_password("correct horse", iterations=1000)
    assert stored.startswith("pbkdf2_sha256$1000$") and verify("correct horse", stored)
    assert not verify("correct horsE", stored) and not verify("x", "pbkdf2_sha256$broken")
    auth = tmp_path / "logins"
    auth.write_text(f"# page logins\nann:{stored}\n\nbob:plain:with:colons\n")
    logins = Logins(read_logins(auth))
    assert logins("ann", "correct horse") and logins("bob", "plain:with:colons")
    assert not logins("ann", "plain:with:colons") and not logins("carol", "correct horse")
    for bad, needle in (("ann\n", "line 1 is not `user:password`"), ("ann:pbkdf2_sha256$1$2\n", "line 1: a hashed")):
        with pytest.raises(ConfigError, match=needle.replace("$", r"\$")):
            parse_logins(bad, "f")
    (tmp_path / "empty").write_text("# nobody\n")
    with pytest.raises(ConfigError, match="has no `user:password` line"):
        read_logins(tmp_path / "empty")


def test_the_command_line_warns_about_a_password_in_ps_and_reads_an_auth_file(tmp_path):
    runner = CliRunner()
    with socket.socket() as taken:  # the command stops at the port check, after reading the logins
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        typed = runner.invoke(cli, ["--auth", "ann:s3cret", "--port", port, "--data-dir", str(tmp_path)])
        assert "visible to every user of this machine (ps)" in typed.stderr and "--auth-file" in typed.stderr
        auth = tmp_path / "logins"
        auth.write_text("ann:s3cret\n")
        quiet = runner.invoke(cli, ["--host", "0.0.0.0", "--auth-file", str(auth), "--port", port,
                                    "--data-dir", str(tmp_path)])
        assert "(ps)" not in quiet.stderr and "already in use" in quiet.stderr  # a login, so past the exposure check
        broken = runner.invoke(cli, ["--auth-file", str(tmp_path / "missing"), "--port", port])
        assert broken.exit_code == 1 and "cannot read the auth file" in broken.stderr
    made = runner.invoke(cli, ["--hash-password"], input="pw\npw\n")
    assert made.exit_code == 0 and verify("pw", made.stdout.strip().splitlines()[-1])


def test_tls_serves_https_with_the_given_certificate(indexed, embedder, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    rag = RAG(Settings(data_dir=indexed), embedder=embedder)
    port = free_port()
    server = make_server(page_app(rag), guard_policy(rag.settings, "127.0.0.1"), "127.0.0.1", port, cert, key)
    thread = start_in_thread(server)
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        assert httpx.get(f"https://127.0.0.1:{port}/", verify=trusted).status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/")  # no clear-text page beside it
    finally:
        server.should_exit = True
        thread.join()
    with pytest.raises(ConfigError, match="both --ssl-certfile and --ssl-keyfile"):
        make_server(page_app(rag), guard_policy(rag.settings, "127.0.0.1"), "127.0.0.1", port, cert, None)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="cannot use .*bad.pem.* for TLS"):  # one line, before serving
        make_server(page_app(rag), guard_policy(rag.settings, "127.0.0.1"), "127.0.0.1", port, bad, bad)


# --- 3. a flood of questions is refused past a client's budget; others still get answers ----------------------

def _ask(url: str, question: str, client: httpx.Client) -> str:
    """The page's /chat API over plain HTTP (Gradio's call route): queue the job, read its result."""
    queued = client.post(f"{url}/gradio_api/call/chat", json={"data": [question]})
    queued.raise_for_status()
    with client.stream("GET", f"{url}/gradio_api/call/chat/{queued.json()['event_id']}") as events:
        lines = [line for line in events.iter_lines() if line.startswith("data:")]
    return json.loads(lines[-1][len("data:"):])[0]


def test_a_flood_from_one_client_is_refused_as_busy_and_another_client_is_answered(page):
    url, _ = page
    with httpx.Client() as flooder, ThreadPoolExecutor(max_workers=8) as pool:
        sent = list(pool.map(lambda _: flooder.post(f"{url}/gradio_api/call/chat", json={"data": [CALL_Q]}),
                             range(300)))
    accepted = [r for r in sent if r.status_code == 200]
    refused = [r for r in sent if r.status_code == 429]
    assert len(refused) == 292
    assert refused[-1].json()["detail"].startswith("Busy: too many questions from you at once; try again in")
    assert len(accepted) == 8  # the budget; the test's clock does not move, so none is earned meanwhile
    spoofed = httpx.post(f"{url}/gradio_api/call/chat", json={"data": [CALL_Q]},
                         headers={"X-Forwarded-For": "10.9.9.9"})  # a header does not make another client
    assert spoofed.status_code == 429
    for route in ("/call/chat/", "/call/v2/chat", "/call/v2/chat/", "/api/chat", "/api/chat/", "/run/chat",
                  "/run/chat/", "/component_server", "/component_server/"):  # every way Gradio starts a job counts
        assert httpx.post(f"{url}/gradio_api{route}", json={"data": [CALL_Q]}).status_code == 429, route
    with from_address("127.0.0.2") as other:
        assert "40-minute" in _ask(url, CALL_Q, other)


def test_budgets_refill_with_time():
    clock = Clock()
    budget = JobBudget(burst=2, refill_s=2.0, clock=clock)
    assert budget.take("a") == 0 and budget.take("a") == 0
    assert budget.take("a") == pytest.approx(2.0)
    assert budget.take("b") == 0  # each client has its own
    clock.now += 2.0
    assert budget.take("a") == 0 and budget.take("a") > 0


# --- 4. sizes are enforced on the server, before any work ------------------------------------------------------

def test_a_huge_question_is_refused_unread_and_memory_stays_flat(indexed):
    proc, url = start_ui(indexed)
    try:
        huge = json.dumps({"data": ["why " * 1_300_000]}).encode()  # a 5 MB question
        status = Path(f"/proc/{proc.pid}/status")

        def resident_kb() -> int:
            return next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmHWM"))

        first = httpx.post(f"{url}gradio_api/call/chat", content=huge, headers={"content-type": "application/json"})
        assert first.status_code == 413 and "this server takes at most 1,048,576" in first.json()["detail"]
        assert "why why" not in first.text  # not echoed
        before = resident_kb()
        for _ in range(20):
            assert httpx.post(f"{url}gradio_api/queue/join", content=huge,
                              headers={"content-type": "application/json"}).status_code == 413
        assert resident_kb() - before < 20_000  # peak RSS grew less than 20 MB over 100 MB sent
        assert "40-minute" in _ask(url.rstrip("/"), CALL_Q, httpx.Client())  # and the page still answers
    finally:
        stop(proc)


def test_a_false_length_or_a_trickled_body_gets_no_worker(indexed, embedder):
    url, server = next(serve_gen := serve(indexed, embedder))
    server.config.app.policy.body_timeout_s = 0.5  # the guard's read timeout, short for the test
    try:
        host, port = url.removeprefix("http://").split(":")

        def raw(request: bytes) -> str:
            reply = b""
            with socket.create_connection((host, int(port))) as conn:
                conn.sendall(request)
                while not reply.rstrip().endswith(b"}"):  # blocks until the server answers: the event, not a clock
                    piece = conn.recv(4096)
                    if not piece:
                        break
                    reply += piece
            return reply.decode()

        head = (b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n")
        claimed = raw(head % 1_000_000_000)  # claims 1 GB, sends nothing: refused at once, not held open
        assert claimed.startswith("HTTP/1.1 413") and "this server takes at most" in claimed
        reply = raw(head % 100 + b'{"data"')  # then nothing more
        assert reply.startswith("HTTP/1.1 408") and "stopped arriving" in reply
    finally:
        next(serve_gen, None)


# --- 6. only our host names; 9. headers against framing and sniffing, no cross-origin grants -----------------

def test_a_foreign_host_header_is_refused(page):
    url, _ = page
    evil = httpx.get(f"{url}/config", headers={"Host": "evil.example"})
    assert evil.status_code == 421 and "RAG_ALLOWED_HOSTS" in evil.json()["detail"]
    assert httpx.post(f"{url}/gradio_api/call/chat", json={"data": [CALL_Q]},
                      headers={"Host": "evil.example:7860"}).status_code == 421
    for ours in ("localhost", "127.0.0.1", f"127.0.0.1:{url.rsplit(':', 1)[1]}"):
        assert httpx.get(f"{url}/config", headers={"Host": ours}).status_code == 200, ours


def test_pages_carry_anti_framing_headers_and_grant_no_other_origin(page):
    url, _ = page
    for path in ("/", "/config"):
        reply = httpx.get(url + path, headers={"Origin": "http://evil.example"})
        assert reply.headers["x-frame-options"] == "DENY"
        assert reply.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert "access-control-allow-origin" not in reply.headers


# --- 8. the page names the LLM server without its credentials --------------------------------------------------

def test_the_llm_notice_shows_host_and_model_but_no_credentials(indexed, embedder):
    secret = "http://ann:hunter2@127.0.0.1:9/v1?api-key=TOPSECRET"
    url, _ = next(gen := serve(indexed, embedder, openai_base_url=secret, openai_api_key="sk-KEY123"))
    try:
        config = html.unescape(httpx.get(f"{url}/config").text)  # the notice is HTML-escaped Markdown
        assert "127.0.0.1:9/v1" in config and "gpt-4o-mini" in config
        for leaked in ("hunter2", "TOPSECRET", "sk-KEY123", "ann:"):
            assert leaked not in config
    finally:
        next(gen, None)


def test_cancelling_a_job_needs_the_login_like_every_other_route(login_page):
    url, _ = login_page
    job = {"session_hash": "someone-elses", "fn_index": 4, "event_id": "theirs"}
    assert httpx.post(f"{url}/gradio_api/cancel", json=job).status_code == 401  # Gradio alone answered 200
    # another user from another address: the burst test may have locked ann and 127.0.0.1 out
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.3")) as bob:
        assert bob.post(f"{url}/login", data={"username": "bob", "password": "bobs-password"}).status_code == 200
        assert bob.post(f"{url}/gradio_api/cancel", json=job).status_code == 200
