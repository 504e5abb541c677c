"""The README's "Current figures" table, generated from the committed baselines.

    python -m eval.figures          # rewrite the table in README.md
    python -m eval.figures --check  # exit 1 if README.md is out of date (a test runs this)
"""

from __future__ import annotations

import sys

import numpy as np

from .datasets import BASELINES, ROOT
from .results import RunResults

README = ROOT / "README.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
ROWS = [
    ("questions (answerable / unanswerable)", None),
    ("retrieval: gold source in top 5", "retrieval.source.hit@5"),
    ("retrieval: passage with the answer in top 5", "retrieval.answer.hit@5"),
    ("retrieval: answer MRR@5 / nDCG@5", ("retrieval.answer.mrr@5", "retrieval.answer.ndcg@5")),
    ("answer contains gold", "answer.contains"),
    ("answer token F1 / exact match", ("answer.f1", "answer.exact_match")),
    ("citation precision (gold source / holds answer)", ("citation.precision.source", "citation.precision.answer")),
    ("citation recall (gold source / holds answer)", ("citation.recall.source", "citation.recall.answer")),
    ("claims supported by their citations", "support.rate"),
    ("abstention precision / recall / F1", ("abstention.precision", "abstention.recall", "abstention.f1")),
    ("false abstention (answerable)", "abstention.false_rate"),
    ("cases passing every check", "pass_rate"),
    ("latency p50 / p95, seconds (2 cores, 4 at once)", ("latency.total.p50", "latency.total.p95")),
]
DATASETS = ["news", "chat", "temporal", "squad2-a", "rgb", "realtimeqa", "realtimeqa-asof"]
# 95% bootstrap intervals (percentile, 2,000 resamples of the questions, seed 0) for the figures a reader
# compares across sets: (row label, which questions, the per-case check, whether the rate counts it failing)
INTERVALS = [
    ("answer contains gold, 95% CI", True, "answer.contains", False),
    ("abstains on unanswerable, 95% CI", False, "abstained", False),
    ("false abstention, 95% CI", True, "answered", True),
]


def _cell(metrics: dict[str, float], key) -> str:
    if key is None:
        return f"{metrics['cases']:.0f} ({metrics['cases.answerable']:.0f} / {metrics['cases.unanswerable']:.0f})"
    keys = key if isinstance(key, tuple) else (key,)
    return " / ".join(f"{metrics[k]:.3f}" if k in metrics else "n/a" for k in keys)


def interval(values: list[bool], resamples: int = 2000) -> tuple[float, float] | None:
    """95% percentile-bootstrap interval of the share of True in ``values``; None when there are none."""
    if not values:
        return None
    data = np.array(values, dtype=float)
    means = np.random.default_rng(0).choice(data, size=(resamples, len(data))).mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _interval_cell(baseline: RunResults, answerable: bool, check: str, failing: bool) -> str:
    values = [bool(c.checks.get(check)) != failing for c in baseline.cases if c.answerable == answerable]
    found = interval(values)
    return f"{sum(values) / len(values):.2f} [{found[0]:.2f}, {found[1]:.2f}]" if found else "n/a"


def render() -> str:
    baselines = {name: RunResults.load(BASELINES / f"{name}.json") for name in DATASETS
                 if (BASELINES / f"{name}.json").exists()}
    lines = ["| metric | " + " | ".join(f"`{n}`" for n in baselines) + " |", "|---" * (len(baselines) + 1) + "|"]
    for label, key in ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(b.metrics, key) for b in baselines.values()) + " |")
    for label, answerable, check, failing in INTERVALS:
        lines.append(f"| {label} | " + " | ".join(_interval_cell(b, answerable, check, failing)
                                                   for b in baselines.values()) + " |")
    return "\n".join(lines)


def replace_between(text: str, start: str, end: str, body: str) -> str:
    """``text`` with whatever lies between the ``start`` and ``end`` markers replaced by ``body``."""
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def rewrite(text: str) -> str:
    return replace_between(text, START, END, render())


def main() -> None:
    text = README.read_text(encoding="utf-8")
    fresh = rewrite(text)
    if "--check" in sys.argv:
        if fresh != text:
            print("README.md figures are out of date: run `python -m eval.figures`", file=sys.stderr)
            sys.exit(1)
        return
    README.write_text(fresh, encoding="utf-8")


if __name__ == "__main__":
    main()
