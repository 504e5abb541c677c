"""50 simultaneous `/chat` requests to one real `rag-ui`, while a `rag ingest` in another process adds articles.

Every request must come back (an answer, or an error that says what went
wrong) within its timeout; after the ingest, the page must answer from the new
articles without a restart. Latency under that load goes to
``test-artifacts/concurrency.json`` for the README.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from gradio_client import Client

from eval.datasets import SQUAD_A, squad_articles
from rag import RAG, Settings

from .conftest import ARTICLES, ROOT
from .fixtures.procs import child_env
from .test_ui_cli import start_ui, stop

REQUESTS = 50
TIMEOUT = 180  # seconds any one request may take before the test calls it hung
ARTIFACT = ROOT / "test-artifacts" / "concurrency.json"
QUESTIONS = [
    "How long did Trump's phone call with Putin last?",
    "Who is the NATO Secretary General?",
    "What did Lavrov say about peace?",
    "Which Russian deputy foreign minister spelled out Moscow's conditions for a future settlement?",
    "What is the boiling point of mercury?",  # not in the articles: an honest abstention is an answer too
]
NEW_FACT = "The Quillmoor harbour authority closed the north pier because divers found cracks in two support columns."
NEW_QUESTION = "Why did the Quillmoor harbour authority close the north pier?"


def test_fifty_simultaneous_chats_during_an_ingest_all_answer_and_see_the_new_articles(
        tmp_path, embedder, model_cache):
    data_dir = tmp_path / "index"
    RAG(Settings(data_dir=data_dir), embedder=embedder).ingest([ARTICLES], progress=False)
    shutil.copytree(model_cache, data_dir / "models")
    new = tmp_path / "new"
    new.mkdir()
    (new / "quillmoor.txt").write_text(f"Quillmoor harbour closes the north pier\n\n{NEW_FACT} "
                                       "Repairs will take about six weeks, the harbour master said.\n")
    squad = tmp_path / "squad"
    squad_articles(SQUAD_A, squad)
    for name in ("Normans.txt", "Huguenot.txt", "Yuan_dynasty.txt"):  # long enough to still be running
        shutil.copy(squad / name, new / name)

    watcher = RAG(Settings(data_dir=data_dir), embedder=embedder)
    before = watcher.stats()["chunks"]
    # fifty users, all from 127.0.0.1 here: one address's default budget of queued questions (8) would refuse
    # most of them as busy; this test is about answers during an ingest (the budget is tested in test_serving)
    proc, url = start_ui(data_dir, RAG_JOBS_PER_CLIENT=str(REQUESTS + 10))
    try:
        client = Client(url, verbose=False)
        client.predict(QUESTIONS[0], api_name="/chat")  # warm: the first request loads what it needs
        t0 = time.perf_counter()
        assert "cracks" not in client.predict(NEW_QUESTION, api_name="/chat")
        single = time.perf_counter() - t0

        ingest = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", str(new)], env=child_env(data_dir),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        while watcher.stats()["chunks"] == before and ingest.poll() is None:
            time.sleep(0.1)  # fire once the ingest is writing, not while it is still loading its model
        assert ingest.poll() is None, "the ingest ended before the questions could overlap it"
        started = time.perf_counter()
        ended: list[float] = []
        waiter = threading.Thread(target=lambda: (ingest.wait(), ended.append(time.perf_counter() - started)))
        waiter.start()  # the moment the ingest process really exits, not when this test gets round to it

        def ask(k: int) -> tuple[float, float, str, str | None]:
            t0 = time.perf_counter()
            try:
                reply, error = client.submit(QUESTIONS[k % len(QUESTIONS)], api_name="/chat").result(TIMEOUT), None
            except Exception as exc:  # a clear error is allowed; a hang is not
                reply, error = "", f"{type(exc).__name__}: {exc}"
            return t0 - started, time.perf_counter() - t0, reply, error

        with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
            results = list(pool.map(ask, range(REQUESTS)))
        waiter.join(timeout=600)
        out, err = ingest.communicate(timeout=60)
        ingest_seconds = ended[0]
        assert ingest.returncode == 0, err[-2000:]
        assert "added 4" in out

        after = client.predict(NEW_QUESTION, api_name="/chat")
    finally:
        stop(proc)

    errors = [e for _, _, _, e in results if e]
    assert len(results) == REQUESTS and all(reply.strip() or error for _, _, reply, error in results)
    for error in errors:  # an error must say something a person can act on, not be empty or a bare type
        assert len(error.split(":", 1)[-1].strip()) > 10, error
    answered = [(k, r) for k, (_, _, r, e) in enumerate(results) if not e]
    for k, reply in answered:
        if k % len(QUESTIONS) == 0:
            assert "40-minute" in reply
        if k % len(QUESTIONS) == 1:
            assert "Rutte" in reply
    assert "cracks in two support columns" in after, after  # the page sees the new article, no restart

    latencies = sorted(t for _, t, _, _ in results)
    finished_during = sum(1 for start, t, _, _ in results if start + t < ingest_seconds)
    figures = {
        "requests": REQUESTS, "answered": len(answered), "errors": len(errors),
        "finished_while_ingest_was_writing": finished_during,
        "ingest_seconds_after_first_write": round(ingest_seconds, 1),
        "single_request_idle_s": round(single, 2),
        "latency_s": {"p50": round(statistics.median(latencies), 2),
                      "p95": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
                      "max": round(latencies[-1], 2)},
        "queue_concurrency": Settings(_env_file=None).concurrency,  # the page's: same defaults, no .env
    }
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(figures, indent=2) + "\n")
    assert finished_during > 0  # reads and writes really did overlap
    assert not errors, errors
