"""Fit the extractive answerer's abstention model (``rag/answer/abstention.json``) on gold questions.

For every question of each set the pipeline retrieves and ranks sentences as
``rag ask`` does; the best eligible sentence's features (see
``rag.answer.abstention``) are the input, "the question is answerable" the
label. Each set weighs the same in the fit (SQuAD's 2,828 questions must not
drown RGB's 50), and within a set the two classes weigh the same, so the
model learns what tells answerable from unanswerable across kinds of text:
Wikipedia paragraphs (SQuAD 2.0, whose unanswerable questions are written to
look answerable), short news snippets with on-topic noise (RGB's negative
rejection), long news articles (RealTime QA), the sample corpus (news, chat).
A question with no eligible sentence abstains anyway and is left out.

    python -m eval.fit_abstention [--squad-every 2] [--index-root .rag-fit] [--write]

The cutoff (``Settings.abstain_threshold``) is the highest probability whose
false abstention, averaged over the sets, stays at or below 10%. Prints the
coefficients and, per set, the abstention and false-abstention rates at that
cutoff (in-sample; ``rag-eval`` reports them with bootstrap intervals).
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import date
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from rag import RAG
from rag.answer.abstention import FEATURES, MODEL
from rag.answer.condense import last_answer
from rag.answer.extractive import ExtractiveAnswerer, FollowUp, evidence_features

from .datasets import load_dataset
from .runner import make_settings

SETS = ("news", "chat", "rgb", "realtimeqa", "squad2-a")


def collect(name: str, root: Path, every: int) -> list[tuple[dict[str, float], bool]]:
    """(features, answerable) for each question of a set that has an eligible sentence, asked as
    ``RAG.stream`` asks it (typos corrected, a follow-up after its conversation, made standalone)."""
    work = root / name
    dataset = load_dataset(name, work / "src", every=every)
    rag = RAG(make_settings(work / "index", "extractive", None, {}))
    rag.ingest([dataset.corpus], prune=True, progress=False)
    answerer = ExtractiveAnswerer(rag.embedder, 0.0, rag.settings.max_answer_sentences, rag.sentences)
    rows = []
    for case in dataset.cases:
        history: list[dict] = []
        for turn in case.history:  # a follow-up is asked in its conversation, as the page and rag-eval ask it
            said = rag.ask(turn, history=history)
            history += [{"role": "user", "content": said.query or turn}, {"role": "assistant", "content": said.text}]
        typed, query, _ = rag.standalone(case.question, history, answerer)  # typos and follow-ups as RAG.stream
        follow_up = FollowUp(typed, last_answer(history)) if query != typed else None
        ranked = answerer.rank_parts([query], rag.retrieve(query[:rag.settings.max_question_chars]), follow_up)[0]
        eligible = [c for c in ranked if c.eligible]
        if eligible:
            rows.append((evidence_features(eligible[0], eligible), case.answerable))
    return rows


def fit(by_set: dict[str, list[tuple[dict[str, float], bool]]]) -> tuple[dict[str, float], float]:
    x, y, w = [], [], []
    for rows in by_set.values():
        pos = sum(1 for _, a in rows if a)
        neg = len(rows) - pos
        for features, answerable in rows:
            x.append([features[f] for f in FEATURES])
            y.append(int(answerable))
            w.append(0.5 / max(1, pos if answerable else neg))  # each set 1, each class half of it
    x_arr = np.array(x)
    mean, scale = x_arr.mean(axis=0), x_arr.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0).fit((x_arr - mean) / scale, y, sample_weight=w)
    coef = model.coef_[0] / scale
    bias = float(model.intercept_[0] - (coef * mean).sum())
    return {f: round(float(c), 4) for f, c in zip(FEATURES, coef)}, round(bias, 4)


MAX_FALSE = 0.10  # false abstention, averaged over the sets, the cutoff may cost (the old rule allowed 10% on news)


def _rates(by_set, weights, bias, cut: float) -> dict[str, tuple[float, float]]:
    """Per set: (false abstention on answerable, abstention on unanswerable) at probability ``cut``."""
    out = {}
    for name, rows in by_set.items():
        p = [1 / (1 + math.exp(-(bias + sum(weights[f] * feat[f] for f in FEATURES)))) for feat, _ in rows]
        ans = [pi < cut for pi, (_, a) in zip(p, rows) if a]
        una = [pi < cut for pi, (_, a) in zip(p, rows) if not a]
        out[name] = (sum(ans) / max(1, len(ans)), sum(una) / max(1, len(una)))
    return out


def choose_cutoff(by_set, weights, bias) -> float:
    """The highest probability cutoff (in steps of 0.01) whose false abstention, averaged over the sets
    (each weighing the same), stays at or below ``MAX_FALSE``: a wrong abstention is a wrong answer, so
    abstention is bought only up to that cost."""
    best = 0.0
    for step in range(1, 100):
        cut = step / 100
        rates = _rates(by_set, weights, bias, cut)
        if sum(fa for fa, _ in rates.values()) / len(rates) <= MAX_FALSE:
            best = cut
    return best


def report(by_set, weights, bias, cut: float) -> None:
    print(f"cutoff {cut} (pooled false abstention <= {MAX_FALSE})")
    for name, (fa, ab) in _rates(by_set, weights, bias, cut).items():
        print(f"{name:11s} n={len(by_set[name]):5d}  false abstention {fa:.3f}  abstention on unanswerable {ab:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad-every", type=int, default=2)
    parser.add_argument("--index-root", type=Path, default=Path(".rag-fit"))
    parser.add_argument("--write", action="store_true", help=f"write the coefficients to {MODEL}")
    parser.add_argument("--features", type=Path, help="keep the collected features in this JSON file and reuse "
                                                       "them on the next run (refit without re-asking)")
    args = parser.parse_args()
    by_set = {}
    if args.features and args.features.exists():
        by_set = {k: [(f, a) for f, a in v] for k, v in json.loads(args.features.read_text()).items()}
    for name in SETS:
        if name not in by_set:
            by_set[name] = collect(name, args.index_root, args.squad_every if name == "squad2-a" else 1)
            if args.features:
                args.features.write_text(json.dumps(by_set))
        print(f"{name}: {len(by_set[name])} questions", flush=True)
    weights, bias = fit(by_set)
    cut = choose_cutoff(by_set, weights, bias)
    print(json.dumps({"weights": weights, "bias": bias}, indent=2))
    report(by_set, weights, bias, cut)
    if args.write:
        MODEL.write_text(json.dumps({
            "weights": weights, "bias": bias, "threshold": cut, "fitted": date.today().isoformat(),
            "data": {name: {"questions": len(rows), "answerable": sum(a for _, a in rows)}
                     for name, rows in by_set.items()},
            "sets": "eval/datasets/news.jsonl, eval/datasets/chat.jsonl, ../shared/benchmarks/"
                    "{rgb,realtimeqa}/questions.jsonl, ../shared/benchmarks/squad2/dev-a.json (one question in "
                    f"{args.squad_every})",
            "script": "python -m eval.fit_abstention --write",
        }, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {MODEL}")


if __name__ == "__main__":
    main()
