"""ask_batch throughput in LLM mode against a loopback OpenAI-compatible server that waits per reply.

    python -m bench.llm_batch [--questions 20] [--delay 0.5] [--levels 1,4,8,16]

Ratios are against concurrency 1 measured in the same run; the ideal at
concurrency c is 1/c (the server's wait dominates; retrieval and citation
checks run on this machine's CPU). Writes bench/llm_batch.json and the README table.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

from eval.figures import replace_between
from rag import RAG, Settings
from tests.fixtures.openai_server import FakeOpenAI, passages_in

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "eval/datasets/news.jsonl").read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.5, help="seconds the server waits before each reply")
    parser.add_argument("--levels", default="1,4,8,16")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    questions = (QUESTIONS * (args.questions // len(QUESTIONS) + 1))[: args.questions]

    def reply(body):
        """A faithful model: it restates the first sentence of passage 1 and cites it."""
        sentences = re.split(r"(?<=[.!?])\s+", passages_in(body)[1])
        first = next((x for x in sentences if len(x.split()) >= 8 and "\n" not in x), sentences[0])
        return {"content": f"{first} [1]", "delay": args.delay}

    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(default=reply) as server:
        settings = Settings(_env_file=None, data_dir=Path(tmp), llm="openai", openai_base_url=server.url,
                            llm_retries=0)
        rag = RAG(settings)
        rag.ingest([ROOT / "data/articles"], progress=False)
        rag.ask_batch(questions[:2], concurrency=2, progress=False)  # warm: model loaded, caches filled
        for level in levels:
            server.max_in_flight = 0
            started = time.perf_counter()
            answers = rag.ask_batch(questions, concurrency=level, progress=False)
            seconds = time.perf_counter() - started
            errors = sum(a.error is not None for a in answers)
            rows.append({"concurrency": level, "seconds": round(seconds, 3), "errors": errors,
                         "max_in_flight": server.max_in_flight})
    base = rows[0]["seconds"]
    for r in rows:
        r["ratio_to_sequential"] = round(r["seconds"] / base, 4)
        r["ideal_ratio"] = round(1 / r["concurrency"], 4)
    result = {"questions": len(questions), "server_delay_s": args.delay, "runs": rows}
    print(f"{len(questions)} questions, server waits {args.delay}s per reply")
    print("concurrency  seconds  ratio-to-c1  ideal  max-in-flight  errors")
    for r in rows:
        print(f"{r['concurrency']:11d}  {r['seconds']:7.2f}  {r['ratio_to_sequential']:11.3f}  "
              f"{r['ideal_ratio']:5.3f}  {r['max_in_flight']:13d}  {r['errors']:6d}")
    (ROOT / "bench" / "llm_batch.json").write_text(json.dumps(result, indent=1) + "\n")
    write_readme(result)


def write_readme(result: dict) -> None:
    """Replace the table between the llm-batch markers in README.md."""
    lines = ["| concurrency | seconds | ratio to concurrency 1 | ideal | requests in flight (max) |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['concurrency']} | {r['seconds']:.2f} | {r['ratio_to_sequential']:.3f} | {r['ideal_ratio']:.3f} "
              f"| {r['max_in_flight']} |" for r in result["runs"]]
    readme = ROOT / "README.md"
    text = replace_between(readme.read_text(encoding="utf-8"), "<!-- llm-batch:start -->",
                           "<!-- llm-batch:end -->", "\n".join(lines))
    readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
