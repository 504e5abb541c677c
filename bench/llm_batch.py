"""ask_batch throughput in LLM mode against a loopback OpenAI-compatible server that waits per reply.

Part of the benchmark suite (``python -m bench``); alone:

    python -m bench.llm_batch [--questions 64] [--delay 0.5] [--levels 1,4,8,16]

Ratios are against concurrency 1 measured in the same run; the ideal
speed-up at concurrency c is c (the server's wait dominates; retrieval and
citation checks run on this machine's CPU). Use a question count that the
levels divide, or the last partial round hides the speed-up.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from rag import RAG, Settings
from tests.fixtures.openai_server import FakeOpenAI, passages_in

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "eval/datasets/news.jsonl").read_text().splitlines()]


def measure(questions: int = 64, delay: float = 0.5, levels: Sequence[int] = (1, 4, 8, 16)) -> dict[str, Any]:
    """Seconds and questions/s per concurrency level over the sample corpus, plus speed-up to level 1."""
    asked = (QUESTIONS * (questions // len(QUESTIONS) + 1))[:questions]

    def reply(body):
        """A faithful model: it restates the first sentence of passage 1 and cites it."""
        sentences = re.split(r"(?<=[.!?])\s+", passages_in(body)[1])
        first = next((x for x in sentences if len(x.split()) >= 8 and "\n" not in x), sentences[0])
        return {"content": f"{first} [1]", "delay": delay}

    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(default=reply) as server:
        settings = Settings(_env_file=None, data_dir=Path(tmp), llm="openai", openai_base_url=server.url,
                            llm_retries=0)
        rag = RAG(settings)
        rag.ingest([ROOT / "data/articles"], progress=False)
        rag.ask_batch(asked[:2], concurrency=2, progress=False)  # warm: model loaded, caches filled
        for level in levels:
            server.max_in_flight = 0
            started = time.perf_counter()
            answers = rag.ask_batch(asked, concurrency=level, progress=False)
            seconds = time.perf_counter() - started
            rows.append({"concurrency": level, "seconds": round(seconds, 3),
                         "questions_per_s": round(len(asked) / seconds, 3),
                         "errors": sum(a.error is not None for a in answers),
                         "max_in_flight": server.max_in_flight})
    for r in rows:
        r["speedup"] = round(rows[0]["seconds"] / r["seconds"], 3)
    return {"questions": len(asked), "server_delay_s": delay, "runs": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.5, help="seconds the server waits before each reply")
    parser.add_argument("--levels", default="1,4,8,16")
    args = parser.parse_args()
    result = measure(args.questions, args.delay, [int(x) for x in args.levels.split(",")])
    print(f"{result['questions']} questions, server waits {args.delay}s per reply")
    print("concurrency  seconds  questions/s  speed-up  max-in-flight  errors")
    for r in result["runs"]:
        print(f"{r['concurrency']:11d}  {r['seconds']:7.2f}  {r['questions_per_s']:11.2f}  {r['speedup']:8.2f}  "
              f"{r['max_in_flight']:13d}  {r['errors']:6d}")


if __name__ == "__main__":
    main()
