"""`rag-ui`: safe defaults for exposure, and the real command answering `/chat` through gradio_client."""

from __future__ import annotations

import errno
import os
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import typer
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError
from typer.testing import CliRunner

from rag.server import binding
from tests.fixtures.net import free_port, wait_for_http
from tests.fixtures.procs import child_env
from ui import cli as ui_cli
from ui.cli import check_exposure, cli, is_loopback, parse_auth, port_problem

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
    assert parse_auth("ann:s3:cret") == {"ann": "s3:cret"}
    assert parse_auth("ann:one\nbob:two") == {"ann": "one", "bob": "two"}
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(typer.BadParameter):
            parse_auth(bad)


def test_exposure_needs_auth_or_an_explicit_opt_out():
    check_exposure("127.0.0.1", None, False)
    check_exposure("0.0.0.0", {"a": "b"}, False)
    check_exposure("0.0.0.0", None, True)
    with pytest.raises(typer.Exit) as exc:
        check_exposure("0.0.0.0", None, False)
    assert exc.value.exit_code == 2


def test_command_refuses_an_open_network_page_before_loading_anything(tmp_path):
    result = runner.invoke(cli, ["--host", "0.0.0.0", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--auth-file FILE" in result.output and "RAG_UI_AUTH=user:password" in result.output
    assert "--insecure-no-auth" in result.output
    result = runner.invoke(cli, ["--auth", "nopassword"])
    assert result.exit_code == 2 and "--auth" in result.output


def start_ui(data_dir, *args: str, **variables: str):
    port = free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False", **variables}
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
    # nine users at once, all from 127.0.0.1 here: more than one client's default budget of queued questions
    proc, url = start_ui(corpus_rag.settings.data_dir, RAG_JOBS_PER_CLIENT="16")
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
    printed = proc.communicate()[0]
    assert "Page: http://127.0.0.1:" in printed and "share=True" not in printed  # Gradio's hint does not apply


@pytest.mark.parametrize("command", [["rag"], ["rag", "ask"], ["rag-ui"], ["rag-eval"]])
def test_help_lists_options_without_type_noise(command):
    """`--help` reads like any command's: no `--help <bool>` column."""
    script = Path(sys.executable).with_name(command[0])
    shown = subprocess.run([str(script), *command[1:], "--help"], capture_output=True, text=True, timeout=60).stdout
    assert re.search(r"^  --help\s+Show this message and exit\.$", shown, re.M), shown
    assert "<bool>" not in shown and "╭" not in shown


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


# --- a port that is taken, a host that is not ours: one line, exit 1, before the model loads ---------------------

RAG_UI = Path(sys.executable).with_name("rag-ui")  # the installed console script, as `make run` calls it


@pytest.fixture
def taken_port():
    """A loopback port with a program listening on it, bound before the test starts anything."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def run_rag_ui(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RAG_UI), *args], env=child_env(tmp_path / "index", GRADIO_ANALYTICS_ENABLED="False"),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def assert_one_error_line(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stdout + result.stderr
    assert "GRADIO_SERVER_PORT" not in result.stdout + result.stderr
    assert result.stdout == ""  # failed before loading the index or the model ("Index: ..." never printed)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def test_rag_ui_on_a_taken_port_says_which_setting_to_change(tmp_path, taken_port):
    line = assert_one_error_line(run_rag_ui(tmp_path, "--port", str(taken_port)),
                                 f"port {taken_port} on 127.0.0.1 is already in use", "--port N", "RAG_UI_PORT=N")
    # RAG_UI_PORT is read the same way (it is what .env sets)
    result = subprocess.run([str(RAG_UI)], env=child_env(tmp_path / "index", RAG_UI_PORT=str(taken_port)),
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert assert_one_error_line(result) == line


def test_rag_ui_on_an_address_of_no_interface_here(tmp_path):
    """192.0.2.1 (TEST-NET-1) is on no interface of this machine: binding fails, nothing is sent anywhere."""
    result = run_rag_ui(tmp_path, "--host", "192.0.2.1", "--insecure-no-auth", "--port", str(free_port()))
    assert_one_error_line(result, "--host 192.0.2.1 is not an address of this machine", "RAG_UI_HOST")


def test_a_free_port_has_no_problem_whatever_other_addresses_hold(taken_port):
    assert port_problem("127.0.0.1", free_port()) is None
    # the page listens with uvicorn on --host alone: a port taken on 127.0.0.1 leaves 127.0.0.2 free
    assert port_problem("127.0.0.2", taken_port) is None


@pytest.mark.parametrize("error, needles", [
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), ["not a name this machine can resolve",
                                                                     "RAG_UI_HOST"]),
    (OSError(errno.EACCES, "Permission denied"), ["not allowed to listen on port 80", "below 1024", "--port N"]),
    (OSError(errno.EMFILE, "Too many open files"), ["Too many open files", "--host/--port"]),
])
def test_other_bind_failures_are_one_line_too(monkeypatch, error, needles):
    monkeypatch.setattr(binding, "bind_error", lambda host, port: error)
    message = port_problem("myhost", 80)
    assert "\n" not in message and all(n in message for n in needles)


def test_a_port_taken_while_the_model_loads_is_reported_the_same_way(monkeypatch, tmp_path, taken_port):
    """The race: free at the early check, taken by the time the server binds. uvicorn's exit is caught, not
    shown."""
    import gradio as gr

    import rag
    import ui.app

    class QuickRAG:  # stands in for the model load; the launch below is Gradio's real one
        def __init__(self, settings):
            self.settings, self.embedder = settings, None

        def documents(self):
            return []

    checks = []
    real_problem = port_problem

    def free_at_first(host, port):
        checks.append(port)
        return None if len(checks) == 1 else real_problem(host, port)

    monkeypatch.setattr(ui_cli, "port_problem", free_at_first)
    monkeypatch.setattr(rag, "RAG", QuickRAG)
    with gr.Blocks(analytics_enabled=False) as page:
        gr.Markdown("a page")
    monkeypatch.setattr(ui.app, "build_app", lambda rag, upload_dir, **limits: page)
    result = runner.invoke(cli, ["--port", str(taken_port), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert checks == [taken_port, taken_port], result.exception  # the early check, then the diagnosis of the bind
    assert f"error: port {taken_port} on 127.0.0.1 is already in use" in result.stderr
    assert "GRADIO_SERVER_PORT" not in result.output and isinstance(result.exception, SystemExit)


def test_readme_quotes_the_real_port_message(monkeypatch):
    from tests.conftest import ROOT

    monkeypatch.setattr(binding, "bind_error", lambda host, port: OSError(errno.EADDRINUSE, "Address already in use"))
    assert f"error: {port_problem('127.0.0.1', 7860)}\n" in (ROOT / "README.md").read_text()
