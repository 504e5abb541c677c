"""Retrieval metrics through ranx: hit@k, MRR@k, recall@k and nDCG@k per question.

Two notions of relevance:
- ``source``: a passage is relevant when it comes from a gold source file,
  judged per document (a file's first passage gives the document its rank);
- ``answer``: a passage is relevant when it contains a gold answer string;
  the relevant set is every indexed passage that does, so recall and nDCG are
  normalised by what the index could have returned.

A question with nothing relevant anywhere (the answer was cut at a chunk
boundary), or an empty result list (an errored question), scores 0 rather
than leaving the mean.
"""

from __future__ import annotations

import warnings
from typing import Sequence

from .metrics import occurs

NOTHING_RELEVANT = "__nothing_relevant__"  # a judged id no run ever returns
NOTHING_RETRIEVED = "__nothing_retrieved__"  # a returned id no question finds relevant

_RANX = {"hit": "hit_rate", "mrr": "mrr", "recall": "recall", "ndcg": "ndcg"}


def ks_for(top_k: int) -> list[int]:
    """The cut-offs reported: 1, 3 and the run's own top-k."""
    return sorted({k for k in (1, 3, top_k) if k <= top_k})


def ranx_scores(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
                ks: Sequence[int]) -> dict[str, dict[str, float]]:
    """Per-question ``{qid: {"hit@k": .., "mrr@k": .., ...}}`` computed by ranx."""
    if not qrels:
        return {}
    from ranx import Qrels, Run, evaluate

    qrels = {q: rel or {NOTHING_RELEVANT: 1} for q, rel in qrels.items()}
    run = {q: run.get(q) or {NOTHING_RETRIEVED: 0.0} for q in qrels}
    names = [f"{_RANX[m]}@{k}" for m in _RANX for k in ks]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's type-safety chatter
        ranx_qrels, ranx_run = Qrels(qrels), Run(run)
        scores = evaluate(ranx_qrels, ranx_run, names, return_mean=False, make_comparable=True)
    qids = list(ranx_qrels.keys())  # ranx keeps its own (sorted) query order
    out: dict[str, dict[str, float]] = {q: {} for q in qids}
    for metric in _RANX:
        for k in ks:
            for qid, value in zip(qids, scores[f"{_RANX[metric]}@{k}"]):
                out[qid][f"{metric}@{k}"] = float(value)
    return out


def source_run(retrieved: Sequence[dict]) -> dict[str, float]:
    """Documents in the order their first passage appears (scores only encode the rank)."""
    run: dict[str, float] = {}
    for p in retrieved:
        run.setdefault(p["file_name"], float(len(retrieved) - len(run)))
    return run


def passage_run(retrieved: Sequence[dict]) -> dict[str, float]:
    return {p["chunk_id"]: float(len(retrieved) - i) for i, p in enumerate(retrieved)}


def answer_qrels(answers: Sequence[str], folded_corpus: dict[str, str]) -> dict[str, int]:
    """Every indexed passage holding a gold answer string; ``folded_corpus`` maps chunk id to ``fold(text)``."""
    needles = [a for a in answers if a.strip()]
    return {cid: 1 for cid, text in folded_corpus.items() if any(occurs(n, text) for n in needles)}
