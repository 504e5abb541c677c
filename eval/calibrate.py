"""Choose the extractive abstention threshold from gold questions, and show why.

Runs the pipeline with abstention off, records every question's evidence
score (``Answer.confidence``), then sweeps thresholds and prints, per set,
the false-abstention rate on answerable questions and the abstention rate on
unanswerable ones. The rule: among thresholds whose false abstention on the
news set is at most ``--max-false``, take the one that abstains most on the
news set's unanswerable questions; ties go to the lowest threshold (fewest
false abstentions).

    python -m eval.calibrate [--squad-every 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from .datasets import load_dataset
from .runner import make_settings, run


def sweep(rows_by_set: dict[str, list], lo: float = 0.25, hi: float = 0.65, step: float = 0.01):
    table = []
    t = lo
    while t <= hi + 1e-9:
        line = {"threshold": round(t, 2)}
        for name, rows in rows_by_set.items():
            ans = [r for r in rows if r.answerable]
            una = [r for r in rows if not r.answerable]
            line[f"{name}_false_abstention"] = sum(_below(r, t) for r in ans) / max(1, len(ans))
            line[f"{name}_abstention"] = sum(_below(r, t) for r in una) / max(1, len(una))
            line[f"{name}_una"] = len(una)
        table.append(line)
        t += step
    return table


def _below(record, threshold: float) -> bool:
    return record.error is not None or (record.confidence or 0.0) < threshold


def choose(table: list[dict], max_false: float) -> dict:
    """Most abstention on unanswerable news questions with false abstention <= max_false.

    SQuAD is printed beside it but not used: its unanswerable questions are
    written to look answerable from the paragraph, and this lexical/semantic
    evidence score barely separates them (see the table), so it would only
    push the threshold down to where the news set stops abstaining.
    """
    ok = [r for r in table if r["news_false_abstention"] <= max_false]
    if not ok:
        raise SystemExit(f"no threshold keeps news false abstention at or below {max_false}; raise --max-false")
    return max(ok, key=lambda r: (r["news_abstention"], -r["threshold"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad-every", type=int, default=10)
    parser.add_argument("--max-false", type=float, default=0.10)
    args = parser.parse_args()
    rows_by_set = {}
    for name, dataset, every in (("news", "news", 1), ("squad", "squad2-a", args.squad_every)):
        with tempfile.TemporaryDirectory() as tmp:
            settings = make_settings(Path(tmp) / "index", "extractive", None, {"abstain_threshold": -1.0})
            rows_by_set[name] = run(load_dataset(dataset, Path(tmp), every=every), settings, progress=False).cases
    table = sweep(rows_by_set)
    print("threshold  news:false_abst  news:abst_unans  squad:false_abst  squad:abst_unans")
    for r in table:
        print(f"{r['threshold']:9.2f}  {r['news_false_abstention']:15.3f}  {r['news_abstention']:15.3f}  "
              f"{r['squad_false_abstention']:16.3f}  {r['squad_abstention']:16.3f}")
    best = choose(table, args.max_false)
    print(json.dumps({"chosen": best}, indent=2))


if __name__ == "__main__":
    main()
