"""`rag-ui`: safe defaults for exposure, and the real command answering `/chat` through gradio_client."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import typer
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError
from typer.testing import CliRunner

from tests.fixtures.net import free_port, wait_for_http
from ui.cli import check_exposure, cli, is_loopback, parse_auth

CALL_Q = "How long did Trump's phone call with Putin last?"
runner = CliRunner()


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1", True), ("127.8.9.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.org", False),
])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


def test_parse_auth():
    assert parse_auth(None) is None
    assert parse_auth("ann:s3:cret") == ("ann", "s3:cret")
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(typer.BadParameter):
            parse_auth(bad)


def test_exposure_needs_auth_or_an_explicit_opt_out():
    check_exposure("127.0.0.1", None, False)
    check_exposure("0.0.0.0", ("a", "b"), False)
    check_exposure("0.0.0.0", None, True)
    with pytest.raises(typer.Exit) as exc:
        check_exposure("0.0.0.0", None, False)
    assert exc.value.exit_code == 2


def test_command_refuses_an_open_network_page_before_loading_anything(tmp_path):
    result = runner.invoke(cli, ["--host", "0.0.0.0", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--auth user:password" in result.output and "--insecure-no-auth" in result.output
    result = runner.invoke(cli, ["--auth", "nopassword"])
    assert result.exit_code == 2 and "--auth" in result.output


def start_ui(data_dir, *args: str):
    port = free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("OPENAI_API_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "ui", "--port", str(port), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, proc)
    except Exception:
        proc.kill()
        raise AssertionError(proc.communicate()[0])
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_rag_ui_answers_chat_through_gradio_client(corpus_rag):
    """The issue's must-show: `rag-ui --port P` on the sample corpus answers `/chat` with the fact and a marker."""
    proc, url = start_ui(corpus_rag.settings.data_dir)
    try:
        client = Client(url, verbose=False)
        assert "/chat" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        reply = client.predict(CALL_Q, api_name="/chat")
        assert "40-minute phone call" in reply
        assert re.search(r"\[\d+\]", reply)
        with pytest.raises(Exception, match="The question is empty"):
            client.predict("  ", api_name="/chat")
        # several users at once go through the queue; each gets its own answer
        questions = [CALL_Q, "Who is the NATO Secretary General?", "What did Lavrov say about peace?"] * 3
        with ThreadPoolExecutor(max_workers=9) as pool:
            replies = list(pool.map(lambda q: Client(url, verbose=False).predict(q, api_name="/chat"), questions))
        assert all("40-minute" in r for r in replies[0::3]) and all("Rutte" in r for r in replies[1::3])
        assert all(r.strip() for r in replies)
    finally:
        stop(proc)


def test_rag_ui_login(corpus_rag):
    proc, url = start_ui(corpus_rag.settings.data_dir, "--auth", "ann:s3cret")
    try:
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(url, verbose=False).predict(CALL_Q, api_name="/chat")
        with pytest.raises(ValueError, match="Could not login"):
            Client(url, auth=("ann", "wrong"), verbose=False)
        reply = Client(url, auth=("ann", "s3cret"), verbose=False).predict(CALL_Q, api_name="/chat")
        assert "40-minute" in reply
    finally:
        stop(proc)


def test_ui_variables_are_documented_and_read_from_dotenv(tmp_path, monkeypatch):
    from tests.conftest import ROOT
    from ui.cli import UI_VARIABLES, run

    example = (ROOT / ".env.example").read_text()
    assert all(f"\n{name}=" in example for name in UI_VARIABLES)
    for name in UI_VARIABLES:  # set then delete, so monkeypatch restores whatever run() writes
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("RAG_UI_HOST=0.0.0.0\n")
    monkeypatch.setattr(sys, "argv", ["rag-ui"])
    with pytest.raises(SystemExit) as exc:
        run()
    assert exc.value.code == 2  # the .env host is not loopback and there is no login
