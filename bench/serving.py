"""What serving costs: ``rag serve`` (a real process on loopback) against ``RAG.ask`` in this process, on the
same index and questions, measured in the same run.

    python -m bench.serving            # prints the table, writes bench/serving.json and the README's table

- one at a time: the median latency of each question asked 3 times, direct and over HTTP (plain and
  streamed, first chunk and whole reply): the HTTP, JSON and thread hand-over cost is served - direct;
- under load: 50 requests sent at once (``RAG_CONCURRENCY`` workers answer them, the rest queue), p50/p95
  latency and the wall time, against ``RAG.ask_batch`` of the same 50 questions with as many workers.
Questions: the first 10 of the news eval set (``eval/datasets/news.jsonl``), extractive mode, the sample
corpus. The server is a separate process; the client runs here, on the same 2 cores.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from eval.figures import replace_between
from rag import RAG, Settings
from tests.fixtures.net import free_port, wait_for_http

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).with_name("serving.json")
README = ROOT / "README.md"
START, END = "<!-- serving:start -->", "<!-- serving:end -->"
REPEATS, CONCURRENT = 3, 50


def _questions(n: int = 10) -> list[str]:
    lines = (ROOT / "eval" / "datasets" / "news.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines[:n]]


def _chat(question: str) -> dict:
    return {"model": "newsrag", "messages": [{"role": "user", "content": question}]}


def _median_of(fn, questions: list[str]) -> float:
    """The median over questions of each one's median of REPEATS timings of ``fn(question)``, in seconds."""
    per_question = []
    for q in questions:
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            fn(q)
            times.append(time.perf_counter() - started)
        per_question.append(statistics.median(times))
    return statistics.median(per_question)


def _streamed(http: httpx.Client, base: str, question: str) -> tuple[float, float]:
    started, first = time.perf_counter(), None
    with http.stream("POST", base + "/v1/chat/completions", json={**_chat(question), "stream": True}) as reply:
        for line in reply.iter_lines():
            if first is None and '"content": "' in line and '"content": ""' not in line:
                first = time.perf_counter() - started
    return first or 0.0, time.perf_counter() - started


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main() -> None:
    questions = _questions()
    load = [questions[i % len(questions)] for i in range(CONCURRENT)]
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as temp:
        data = Path(temp) / "index"
        rag = RAG(Settings(_env_file=None, data_dir=data))
        rag.ingest([ROOT / "data" / "articles"], progress=False)
        concurrency = rag.settings.concurrency
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {
            "RAG_DATA_DIR": str(data), "RAG_JOBS_PER_CLIENT": "1000", "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)], cwd=temp, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(base + "/health", server)
            with httpx.Client(timeout=300) as http:
                post = lambda q: http.post(base + "/v1/chat/completions", json=_chat(q)).raise_for_status()
                for q in questions:  # warm both: caches, lazily built indexes
                    rag.ask(q), post(q)
                direct = _median_of(rag.ask, questions)
                served = _median_of(post, questions)
                firsts, wholes = zip(*(_streamed(http, base, q) for q in questions))

                def timed(q: str) -> float:
                    started = time.perf_counter()
                    post(q)
                    return time.perf_counter() - started

                started = time.perf_counter()
                with ThreadPoolExecutor(CONCURRENT) as pool:
                    latencies = list(pool.map(timed, load))
                wall = time.perf_counter() - started
            started = time.perf_counter()
            batch = rag.ask_batch(load, concurrency=concurrency, progress=False)
            batch_wall = time.perf_counter() - started
            assert not any(a.error for a in batch)
        finally:
            server.terminate()
            server.communicate(timeout=30)
    result = {
        "questions": len(questions), "repeats": REPEATS, "concurrency": concurrency,
        "direct_median_s": round(direct, 4), "served_median_s": round(served, 4),
        "overhead_ms": round((served - direct) * 1000, 1), "served_vs_direct": round(served / direct, 2),
        "streamed_first_chunk_median_s": round(statistics.median(firsts), 4),
        "streamed_whole_median_s": round(statistics.median(wholes), 4),
        "concurrent": CONCURRENT, "concurrent_p50_s": round(_percentile(latencies, 0.5), 3),
        "concurrent_p95_s": round(_percentile(latencies, 0.95), 3), "concurrent_wall_s": round(wall, 2),
        "ask_batch_wall_s": round(batch_wall, 2), "concurrent_vs_ask_batch": round(wall / batch_wall, 2),
        "cpus": os.cpu_count(),
    }
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    r = result
    table = "\n".join([
        "| measure | `RAG.ask` in process | `rag serve` over HTTP | ratio |", "|---|---|---|---|",
        f"| one question at a time, median | {r['direct_median_s'] * 1000:.0f} ms | {r['served_median_s'] * 1000:.0f} ms "
        f"(+{r['overhead_ms']:.0f} ms) | {r['served_vs_direct']} |",
        f"| streamed: first chunk / whole reply, median | | {r['streamed_first_chunk_median_s'] * 1000:.0f} ms / "
        f"{r['streamed_whole_median_s'] * 1000:.0f} ms | |",
        f"| {CONCURRENT} at once ({concurrency} workers): wall time | {r['ask_batch_wall_s']} s (`ask_batch`) | "
        f"{r['concurrent_wall_s']} s | {r['concurrent_vs_ask_batch']} |",
        f"| {CONCURRENT} at once: latency p50 / p95 | | {r['concurrent_p50_s']} s / {r['concurrent_p95_s']} s | |",
    ])
    print(table)
    README.write_text(replace_between(README.read_text(encoding="utf-8"), START, END, table), encoding="utf-8")


if __name__ == "__main__":
    main()
