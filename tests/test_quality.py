"""Issue 2's quality bar, measured on gold data with the real model and a real index.

Thresholds are the product's promises, not tuned-to-pass numbers: see README.
"""

from pathlib import Path

import pytest

from eval.core_figures import build, evaluate, retrieval_hits
from eval.datasets import NEWS, SQUAD_A, load_jsonl


def test_gold_news_set_is_well_formed():
    cases = load_jsonl(NEWS)
    assert len(cases) >= 40 and len({c.id for c in cases}) == len(cases)
    assert sum(not c.answerable for c in cases) >= 8
    assert sum(len(c.sources) >= 2 for c in cases) >= 5
    articles = Path(__file__).resolve().parent.parent / "data" / "articles"
    for c in cases:
        if c.answerable:
            texts = [(articles / s).read_text() for s in c.sources]
            assert all(any(a in t for t in texts) for a in c.answers), c.id


def test_news_answers_contain_gold_and_abstain_when_they_should(corpus_rag):
    figures, rows = evaluate(corpus_rag, load_jsonl(NEWS))
    print(figures)
    assert figures["errors"] == 0
    assert figures["answer_contains_gold"] >= 0.90
    assert figures["false_abstention"] <= 0.10
    assert figures["abstention_on_unanswerable"] >= 2 / 3


@pytest.mark.skipif(not SQUAD_A.exists(), reason="needs ../shared/benchmarks/squad2/dev-a.json")
def test_squad2_retrieval_hit_at_5(embedder, tmp_path):
    rag, cases = build("squad2-a", tmp_path)
    rag._embedder = embedder  # noqa: SLF001 - share the loaded model
    figures = retrieval_hits(rag, cases, top_k=5)
    print(figures)
    assert figures["retrieval_questions"] == 1299
    assert figures["retrieval_hit@5"] >= 0.90
