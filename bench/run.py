"""The benchmark suite, one command: ``python -m bench`` (or ``make bench``).

Runs every phase of ``bench.phases`` in its own process (so each peak RSS is
that phase's own), times a cold ``rag ask`` in fresh processes, then writes
``bench/results.json``, ``bench/results.png`` and the README table. Every
figure that is a speed comes with a reference measured in the same run.
``--only PHASE`` reruns some phases and keeps the others' last results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
CHART = ROOT / "bench" / "results.png"
COLD_QUESTION = "In what country is Normandy located?"
STEPS = ("ingest", "backends", "peer", "answer", "cold", "scale", "llm-batch")


def run_phase(name: str, work: Path, **options: Any) -> dict[str, Any]:
    """``python -m bench.phases NAME`` in a child process; its figures plus wall time and peak RSS."""
    out = work / f"{name}-{options.get('chunks', '')}.json"
    cmd = [sys.executable, "-m", "bench.phases", name, "--work", str(work), "--out", str(out)]
    for key, value in options.items():
        cmd += [f"--{key}", str(value)]
    print(f"  {name} {options or ''}", flush=True)
    started = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT, env=_env())
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"benchmark phase {name} failed (exit {child.returncode}): {' '.join(cmd)}")
    result = json.loads(out.read_text())
    result["wall_s"] = round(time.perf_counter() - started, 1)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB
    return result


def cold_ask(data_dir: Path, backend: str, runs: int) -> dict[str, Any]:
    """Wall time of ``rag ask`` in a fresh process (file cache warm, nothing else)."""
    env = _env(RAG_DATA_DIR=str(data_dir), RAG_EMBED_BACKEND=backend, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "rag.cli", "ask", COLD_QUESTION]
    cwd = data_dir.parent  # not the checkout: its .env must not change what is measured
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)  # exports the model if needed
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        seconds.append(time.perf_counter() - started)
        if done.returncode:
            raise SystemExit(f"rag ask failed: {done.stderr}")
    return {"median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3),
            "runs": [round(s, 3) for s in seconds]}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") and k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", **extra)
    return env


def _code_version() -> str:
    done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    packages = ("chromadb", "onnxruntime", "torch", "llama-index-core", "bm25s")
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "os": platform.platform(),
            "packages": {p: version(p) for p in packages}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=STEPS, help="run just these steps (repeatable)")
    parser.add_argument("--sizes", default="1000,10000,100000", help="synthetic store sizes, in chunks")
    parser.add_argument("--questions", type=int, default=100, help="questions per latency measurement")
    parser.add_argument("--quick", action="store_true", help="small sizes, for checking the suite itself")
    parser.add_argument("--work", type=Path, help="keep the indexes here (default: a temp folder)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README table")
    args = parser.parse_args()
    if args.quick and args.results == RESULTS:  # a smoke run must not overwrite the published figures
        args.results = Path(tempfile.gettempdir()) / "rag-bench-quick.json"
    sizes = [300, 1000] if args.quick else [int(x) for x in args.sizes.split(",")]
    questions = 20 if args.quick else args.questions
    steps = args.only or list(STEPS)
    results: dict[str, Any] = json.loads(args.results.read_text()) if args.only and args.results.exists() else {}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        if any(s != "llm-batch" for s in steps) and not (work / "index").exists():
            steps = ["ingest", *[s for s in steps if s != "ingest"]]  # later steps read its index
        for step in steps:
            print(f"[{step}]", flush=True)
            if step == "ingest":
                results["ingest"] = run_phase("ingest", work, rounds=1 if args.quick else 5)
            elif step in ("backends", "peer"):
                results[step] = run_phase(step, work)
            elif step == "answer":
                results["answer"] = run_phase("answer", work, questions=questions)
            elif step == "cold":
                runs = 2 if args.quick else 5
                results["cold"] = {"onnx": cold_ask(work / "index", "onnx", runs),
                                   "torch": cold_ask(work / "index", "torch", runs)}
            elif step == "scale":
                results["scale"] = []
                for n in sizes:
                    built = run_phase("build-scale", work, chunks=n)
                    record = work / f"scale-{n}" / "build.json"
                    if not built.get("reused"):  # remember this build's peak for runs that reuse it
                        built["build_peak_rss_mb"] = built["peak_rss_mb"]
                        record.write_text(json.dumps({k: built[k] for k in ("chunks", "build_s", "build_peak_rss_mb", "base")}))
                    row = run_phase("scale", work, chunks=n, questions=questions)
                    row.update(build_s=built["build_s"], build_peak_rss_mb=built["build_peak_rss_mb"],
                               build_reused=bool(built.get("reused")))
                    results["scale"].append(row)
            elif step == "llm-batch":
                results["llm_batch"] = run_phase("llm-batch", work, questions=16 if args.quick else 64)
        stamp = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "code": _code_version()}
        for step in steps:  # --only keeps other steps' figures: each says when and from which code it came
            results.setdefault("measured", {})[step] = stamp
        results.update(machine=machine(), created=stamp["at"], quick=args.quick)
        results.setdefault("suite_s", {})["last_run"] = round(time.perf_counter() - started, 1)
    from bench.report import checks, write_chart, write_readme

    results["checks"] = checks(results)
    args.results.write_text(json.dumps(results, indent=1) + "\n")
    write_chart(results, args.results.with_suffix(".png"))
    if not args.no_readme and not args.quick:
        write_readme(results, ROOT / "README.md")
    for c in results["checks"]:
        print(f"{'ok  ' if c['met'] else 'MISS'} {c['name']}: {c['value']} (target {c['target']})")
    print(f"wrote {args.results} and {args.results.with_suffix('.png')}")


if __name__ == "__main__":
    main()
