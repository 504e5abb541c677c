"""Whether the best sentence answers: a small logistic model over the answerer's evidence.

One evidence score against one threshold separated answerable from
unanswerable questions poorly (chosen on 48 questions: it cut answerable ones
on long articles and let on-topic noise through on short snippets). This
model weighs a few features of the best eligible sentence instead, fitted by
``python -m eval.fit_abstention`` on the SQuAD 2.0, RGB, RealTime QA, news
and chat sets (each set weighing the same, classes balanced). Its
coefficients live in ``abstention.json`` beside this file, with the data they
were fitted on; the answerer abstains when the probability is below
``Settings.abstain_threshold``.

Features (all 0-1 unless said):
  evidence   the sentence's combined score (``Candidate.evidence``)
  dense      its cosine with the question
  lexical    its idf-weighted share of the question's terms
  typed      1 when the question asks for a type of span (and so the sentence holds one)
  margin     its evidence minus the next eligible sentence's (-1..1)
  first      1 when it comes from the best-ranked passage
  support    share of the other top-5 eligible sentences from the same article
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

FEATURES = ("evidence", "dense", "lexical", "typed", "margin", "first", "support")
MODEL = Path(__file__).with_name("abstention.json")


@lru_cache(maxsize=1)
def _model() -> tuple[dict[str, float], float]:
    data = json.loads(MODEL.read_text(encoding="utf-8"))
    return data["weights"], data["bias"]


def answer_probability(features: dict[str, float]) -> float:
    """P(the question is answerable from this sentence), 0-1, from the fitted logistic model."""
    weights, bias = _model()
    z = bias + sum(weights[name] * features[name] for name in FEATURES)
    return 1.0 / (1.0 + math.exp(-z))
