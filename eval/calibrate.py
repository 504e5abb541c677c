"""Choose the extractive abstention threshold from gold questions, and show why.

Runs the pipeline with abstention off, records every question's evidence
score (``Answer.confidence``), then sweeps thresholds and prints, per set,
the false-abstention rate on answerable questions and the abstention rate on
unanswerable ones. The rule: among thresholds whose false abstention on the
news set is at most ``--max-false`` (and at most that on SQuAD answerable
questions), take the one that abstains most on unanswerable questions
(news and SQuAD pooled); ties go to the lowest threshold.

    python -m eval.calibrate [--squad-every 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from .core_figures import build, evaluate


def sweep(rows_by_set: dict[str, list[dict]], lo: float = 0.25, hi: float = 0.65, step: float = 0.01):
    table = []
    t = lo
    while t <= hi + 1e-9:
        line = {"threshold": round(t, 2)}
        for name, rows in rows_by_set.items():
            ans = [r for r in rows if r["answerable"]]
            una = [r for r in rows if not r["answerable"]]
            line[f"{name}_false_abstention"] = sum(r["confidence"] < t for r in ans) / max(1, len(ans))
            line[f"{name}_abstention"] = sum(r["confidence"] < t for r in una) / max(1, len(una))
            line[f"{name}_una"] = len(una)
        table.append(line)
        t += step
    return table


def choose(table: list[dict], max_false: float) -> dict:
    ok = [r for r in table if r["news_false_abstention"] <= max_false
          and r.get("squad_false_abstention", 0) <= max_false]
    def pooled(r):
        n_news, n_squad = r["news_una"], r.get("squad_una", 0)
        return (r["news_abstention"] * n_news + r.get("squad_abstention", 0) * n_squad) / (n_news + n_squad)
    return max(ok, key=lambda r: (pooled(r), -r["threshold"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad-every", type=int, default=10)
    parser.add_argument("--max-false", type=float, default=0.10)
    args = parser.parse_args()
    rows_by_set = {}
    for name, dataset, every in (("news", "news", 1), ("squad", "squad2-a", args.squad_every)):
        with tempfile.TemporaryDirectory() as tmp:
            rag, cases = build(dataset, Path(tmp), every=every, abstain_threshold=-1.0)
            _, rows_by_set[name] = evaluate(rag, cases)
    table = sweep(rows_by_set)
    print("threshold  news:false_abst  news:abst_unans  squad:false_abst  squad:abst_unans")
    for r in table:
        print(f"{r['threshold']:9.2f}  {r['news_false_abstention']:15.3f}  {r['news_abstention']:15.3f}  "
              f"{r['squad_false_abstention']:16.3f}  {r['squad_abstention']:16.3f}")
    best = choose(table, args.max_false)
    print(json.dumps({"chosen": best}, indent=2))


if __name__ == "__main__":
    main()
